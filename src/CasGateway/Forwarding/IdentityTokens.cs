using System.Collections.Concurrent;
using CasGateway.BackendAuth;
using Microsoft.Extensions.Options;

namespace CasGateway.Forwarding;

/// <summary>
/// Makes the signed identity header. A token is signed once per (caller, client address, target server, target
/// mailbox) and reused for the first four fifths of its lifetime, so an ECDSA signature costs per user and server,
/// not per request; a backend always receives a token with at least a fifth of its lifetime left.
/// </summary>
public sealed class IdentityTokens : IDisposable
{
    private const int MaxCached = 50_000;
    private readonly GatewayIdentityCodec _codec;
    private readonly TimeSpan _lifetime;
    private readonly TimeSpan _reuse;
    private readonly string _node;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<Key, Token> _cache = new();

    public IdentityTokens(IOptions<BackendOptions> backend, IOptions<Configuration.GatewayOptions> gateway, IHostEnvironment environment, TimeProvider clock)
    {
        var identity = backend.Value.Identity;
        _codec = Create(identity, environment.ContentRootPath);
        _lifetime = identity.Lifetime;
        _reuse = identity.Lifetime * 0.8;
        _node = gateway.Value.NodeName;
        _clock = clock;
    }

    /// <summary>The codec for these settings: ECDSA from the private key file, or the legacy HMAC key.</summary>
    public static GatewayIdentityCodec Create(IdentityHeaderOptions options, string contentRoot)
        => options.Algorithm == IdentitySigningAlgorithm.HmacSha256
            ? new HmacGatewayIdentityCodec(Convert.FromBase64String(options.SigningKey), TimeSpan.Zero)
            : EcdsaGatewayIdentityCodec.FromPrivateKeyPem(File.ReadAllText(Path.GetFullPath(options.PrivateKeyPath!, contentRoot)), TimeSpan.Zero);

    public string TokenFor(string user, string primarySmtpAddress, Guid mailboxGuid, string authenticationMethod, string clientIp, string audience, string targetMailbox)
    {
        var key = new Key(user, primarySmtpAddress, mailboxGuid, authenticationMethod, clientIp, audience, targetMailbox);
        var now = _clock.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && now < cached.ReuseUntil)
        {
            return cached.Value;
        }
        var value = _codec.Sign(new GatewayIdentity(user, primarySmtpAddress, mailboxGuid, authenticationMethod, clientIp, _node, now, now + _lifetime, audience, targetMailbox));
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }
        _cache[key] = new Token(value, now + _reuse);
        return value;
    }

    public void Dispose() => (_codec as IDisposable)?.Dispose();

    private readonly record struct Key(string User, string Smtp, Guid Mailbox, string Method, string ClientIp, string Audience, string Target);

    private sealed record Token(string Value, DateTimeOffset ReuseUntil);
}
