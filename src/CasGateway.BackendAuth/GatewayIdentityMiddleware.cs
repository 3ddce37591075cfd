using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CasGateway.BackendAuth;

/// <summary>What a mailbox backend requires of every request before it serves it.</summary>
public sealed class GatewayTrustOptions
{
    /// <summary>Verifies identity tokens: <see cref="EcdsaGatewayIdentityCodec.FromPublicKeyPem"/> (or the legacy HMAC codec).</summary>
    public required GatewayIdentityCodec Codec { get; init; }

    /// <summary>This server's FQDN as the gateway's directory names it: tokens made for any other server are refused.</summary>
    public required string Audience { get; init; }

    public string HeaderName { get; init; } = GatewayHeaders.Identity;

    /// <summary>SHA-256 thumbprints of gateway client certificates to accept.</summary>
    public IReadOnlyCollection<string> AllowedClientCertificateThumbprints { get; init; } = [];

    /// <summary>
    /// Require one of <see cref="AllowedClientCertificateThumbprints"/> on every request (the default). Turned off,
    /// the signed identity alone is checked — only for a backend reached over a link nobody else can use.
    /// </summary>
    public bool RequireClientCertificate { get; init; } = true;

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Paths served without a caller identity (the gateway's health probes); the client certificate is still required.</summary>
    public IReadOnlyCollection<string> ProbePaths { get; init; } = ["/healthcheck.htm"];
}

/// <summary>Refuses (403) any request that does not carry a valid gateway identity from an allowed gateway.</summary>
public sealed class GatewayIdentityMiddleware(RequestDelegate next, GatewayTrustOptions options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (options.RequireClientCertificate)
        {
            var certificate = await context.Connection.GetClientCertificateAsync(context.RequestAborted);
            if (certificate is null || !IsAllowed(certificate))
            {
                await RefuseAsync(context, "gateway client certificate required");
                return;
            }
        }
        if (options.ProbePaths.Contains(context.Request.Path.Value ?? "", StringComparer.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }
        var verification = options.Codec.Verify(context.Request.Headers[options.HeaderName], options.Clock.GetUtcNow(), options.Audience);
        if (!verification.Succeeded)
        {
            await RefuseAsync(context, verification.Error!);
            return;
        }
        var target = context.Request.Headers[GatewayHeaders.TargetMailbox];
        if (target.Count > 0 && !string.Equals(target.ToString(), verification.Identity!.TargetMailbox, StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, "target mailbox does not match the signed identity");
            return;
        }
        context.Features.Set(verification.Identity!);
        await next(context);
    }

    private bool IsAllowed(X509Certificate2 certificate)
    {
        var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        return options.AllowedClientCertificateThumbprints.Contains(thumbprint, StringComparer.OrdinalIgnoreCase);
    }

    private static Task RefuseAsync(HttpContext context, string reason)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return context.Response.WriteAsync("403 refused: " + reason + "\n");
    }
}

public static class GatewayIdentityExtensions
{
    public static IApplicationBuilder UseGatewayIdentity(this IApplicationBuilder app, GatewayTrustOptions options)
        => app.UseMiddleware<GatewayIdentityMiddleware>(options);

    /// <summary>
    /// The verified caller identity, once <see cref="GatewayIdentityMiddleware"/> has accepted the request; its
    /// <see cref="GatewayIdentity.IsOwner"/> / <see cref="GatewayIdentity.ActsOnOtherMailbox"/> feed the backend's own authorization.
    /// </summary>
    public static GatewayIdentity? GetGatewayIdentity(this HttpContext context) => context.Features.Get<GatewayIdentity>();
}
