using System.Security.Claims;
using CasGateway.Anchoring;
using CasGateway.Authentication;
using CasGateway.Location;
using CasGateway.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Autodiscover;

/// <summary>What an Autodiscover request for one address gets.</summary>
public enum AnswerKind
{
    /// <summary>The mailbox's settings, with the URLs of <see cref="AutodiscoverAnswer.Urls"/>.</summary>
    Settings,

    /// <summary>A cloud mailbox: ask again about <see cref="AutodiscoverAnswer.RedirectAddress"/>.</summary>
    RedirectAddress,

    /// <summary>An older version's mailbox: its own Autodiscover answers (the request is proxied).</summary>
    Proxy,

    /// <summary>No mailbox the caller may ask about: unknown, or someone else's (the two are indistinguishable).</summary>
    NotFound,

    /// <summary>The decision table refused (e.g. no healthy front end of the needed version).</summary>
    Refused,

    /// <summary>The directory cannot be reached.</summary>
    Unavailable,
}

public sealed record AutodiscoverAnswer(AnswerKind Kind, Mailbox? Mailbox = null, PublishedUrls? Urls = null, string? RedirectAddress = null, string? Rule = null, string? Message = null)
{
    /// <summary>The mailbox's version (for <c>CasVersion</c>), when on premises.</summary>
    public Version? ServerVersion { get; init; }

    /// <summary>The connection point that replaces a server name since Exchange 2013: <c>&lt;mailbox guid&gt;@&lt;smtp domain&gt;</c>.</summary>
    public string ConnectionPoint => Mailbox!.Guid.ToString("D") + "@" + DomainOf(Mailbox.PrimarySmtpAddress);

    public static string DomainOf(string address) => address[(address.LastIndexOf('@') + 1)..];
}

/// <summary>
/// Where the answer for an address comes from: the directory (through the location cache) and the site/version
/// decision table (<see cref="RoutingRules.Decide"/>), never the request's Host.
/// </summary>
public sealed class AutodiscoverResolver(MailboxLocationCache locations, RoutingRules rules, PublishedNamespaces namespaces, IProxyStateLookup proxy)
{
    private const int Modern = 15;

    public PublishedNamespaces Namespaces => namespaces;

    /// <summary>
    /// The answer for <paramref name="address"/> as asked by <paramref name="caller"/> (null: anonymous). A caller
    /// may only learn about their own mailbox; anyone else's is <see cref="AnswerKind.NotFound"/>, like an unknown one.
    /// </summary>
    public async Task<AutodiscoverAnswer> ResolveAsync(HttpRequest request, ProtocolFamily family, string address, Guid? caller, CancellationToken cancellationToken)
    {
        if (!AnchorMailbox.TryParse(address, out var anchor) || anchor.Value.Kind is not (AnchorKind.Smtp or AnchorKind.MailboxGuid))
        {
            return new AutodiscoverAnswer(AnswerKind.NotFound, Message: "The email address can't be found.");
        }
        MailboxLocation? location;
        try
        {
            (location, _) = await locations.LocateAsync(anchor.Value, cancellationToken);
        }
        catch (LocatorUnavailableException ex)
        {
            return new AutodiscoverAnswer(AnswerKind.Unavailable, Message: "The mailbox directory cannot be reached: " + ex.Message);
        }
        if (location is null || (caller is { } guid && guid != location.Mailbox.Guid))
        {
            return new AutodiscoverAnswer(AnswerKind.NotFound, Message: "The email address can't be found.");
        }
        if (location.IsCloud)
        {
            return new AutodiscoverAnswer(AnswerKind.RedirectAddress, location.Mailbox, RedirectAddress: location.Mailbox.CloudTargetAddress, Rule: "CloudAutodiscoverRedirect");
        }
        // The site/version table sees the request as the proxy would: its URL (for redirects) and the asked-for mailbox.
        var facts = new RouteFacts(family, request.Host, request.PathBase, request.Path, request.QueryString, default, anchor.Value, null, Guid.Empty, false);
        var verdict = rules.Decide(facts, location, locations.Servers, Health());
        return verdict.Action switch
        {
            RouteAction.Proxy or RouteAction.ProxyAcrossSites when location.Server.Version.Major >= Modern
                => new AutodiscoverAnswer(AnswerKind.Settings, location.Mailbox, namespaces.ForSite(location.Server.Site), Rule: verdict.Rule) { ServerVersion = location.Server.Version },
            RouteAction.Proxy or RouteAction.ProxyAcrossSites
                => new AutodiscoverAnswer(AnswerKind.Proxy, location.Mailbox, namespaces.Own, Rule: verdict.Rule) { ServerVersion = location.Server.Version },
            _ => new AutodiscoverAnswer(AnswerKind.Refused, location.Mailbox, Rule: verdict.Rule, Message: verdict.Answer?.Message ?? verdict.Answer?.Location),
        };
    }

    /// <summary>The caller's mailbox GUID: the authentication's claim, else the directory's answer for their address.</summary>
    public async Task<Guid> CallerMailboxAsync(ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var guid = GatewayClaims.MailboxGuidOf(user);
        if (guid != Guid.Empty || !AnchorMailbox.TryParse(GatewayClaims.AddressOf(user), out var anchor))
        {
            return guid;
        }
        try
        {
            var (location, _) = await locations.LocateAsync(anchor.Value, cancellationToken);
            return location?.Mailbox.Guid ?? Guid.Empty;
        }
        catch (LocatorUnavailableException)
        {
            return Guid.Empty;
        }
    }

    private ServerHealth Health()
        => new(proxy.TryGetCluster(RouteMetadata.MailboxCluster, out var cluster) ? cluster.DestinationsState.AllDestinations : []);
}
