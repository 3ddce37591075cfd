using System.Net;
using CasGateway.Anchoring;
using CasGateway.Configuration;
using CasGateway.Health;
using CasGateway.Listeners;
using CasGateway.Location;
using Microsoft.Extensions.Options;

namespace CasGateway.Sip;

/// <summary>
/// The Unified Messaging call router's decisions, shared by every transport: who may call, and where each request is
/// sent — an INVITE is redirected (<c>302</c>) to the voice endpoint of the server holding the called mailbox's active
/// database; nothing is proxied and no call state is kept.
/// </summary>
internal sealed partial class SipRouter(
    IOptionsMonitor<SipOptions> options,
    IOptions<GatewayOptions> gateway,
    MailboxLocationCache locator,
    [FromKeyedServices(LocationStage.StoreKey)] IMailboxLocator store,
    DrainCoordinator drain,
    ILogger<SipRouter> logger)
{
    // The store behind the cache answers number lookups (extension, SIP address, E.164); the cache then finds the server.
    private readonly IVoiceDirectory? _voice = store as IVoiceDirectory;
    private (List<string> Entries, IReadOnlyList<IPNetwork> Networks) _peers = ([], []);
    private int _pilotTurn;

    /// <summary>Whether the address is one of the configured peers.</summary>
    public bool IsPeer(IPAddress address)
    {
        var entries = options.CurrentValue.Peers;
        var peers = _peers;
        if (!ReferenceEquals(peers.Entries, entries))
        {
            // Validated at start and on reload, so every entry parses.
            peers = (entries, ClientAddressOptions.ParseNetworks(entries));
            _peers = peers;
        }
        return ClientAddressOptions.Contains(peers.Networks, address);
    }

    /// <summary>Whether a TLS peer's certificate is acceptable (any when no thumbprints are configured).</summary>
    public bool IsPeerCertificate(string? sha256Thumbprint)
    {
        var allowed = options.CurrentValue.PeerCertificateThumbprints;
        return allowed.Count == 0 || (sha256Thumbprint is not null && allowed.Contains(sha256Thumbprint, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>The answer to a request from an allowed peer; null for one that gets none (ACK).</summary>
    public async ValueTask<SipAnswer?> AnswerAsync(SipRequest request, SipTransport transport, CancellationToken cancellationToken)
    {
        switch (request.Method)
        {
            case "ACK":
                return null;
            case "INVITE":
            case "OPTIONS":
                if (!Serving())
                {
                    return new SipAnswer(503, "Service Unavailable") { RetryAfterSeconds = options.CurrentValue.RetryAfterSeconds, Detail = "draining" };
                }
                return request.Method == "OPTIONS"
                    ? new SipAnswer(200, "OK") { WithAllow = true }
                    : await RedirectAsync(request, transport, cancellationToken);
            case "CANCEL":
            case "BYE":
                // Every INVITE was answered at once and no dialog was made: there is nothing to cancel or end.
                return new SipAnswer(481, "Call/Transaction Does Not Exist");
            case "REGISTER" or "SUBSCRIBE" or "NOTIFY" or "PRACK" or "UPDATE" or "INFO" or "REFER" or "MESSAGE" or "PUBLISH":
                return new SipAnswer(405, "Method Not Allowed") { WithAllow = true };
            default:
                return new SipAnswer(501, "Not Implemented") { WithAllow = true };
        }
    }

    private bool Serving()
        => drain.PhaseOf(ServerComponent.UmCallRouter) == DrainPhase.Serving && drain.PhaseOf(ServerComponent.ServerWideOffline) == DrainPhase.Serving;

    private async ValueTask<SipAnswer> RedirectAsync(SipRequest request, SipTransport transport, CancellationToken cancellationToken)
    {
        var current = options.CurrentValue;
        var dialled = SipAddresses.DialledUser(request.RequestUri);
        try
        {
            foreach (var called in SipAddresses.CalledParties(request))
            {
                if (_voice is null || await _voice.FindVoiceUserAsync(called, cancellationToken) is not { } mailbox)
                {
                    continue;
                }
                var (location, _) = await locator.LocateAsync(AnchorMailbox.ForSmtp(mailbox.PrimarySmtpAddress), cancellationToken);
                if (location is null || location.IsCloud)
                {
                    return new SipAnswer(404, "Not Found") { Called = called.Value, Mailbox = mailbox.PrimarySmtpAddress, Detail = "no on-premises mailbox" };
                }
                if (location.Server.UmEndpoint is not { } endpoint)
                {
                    return new SipAnswer(480, "Temporarily Unavailable")
                    {
                        Called = called.Value, Mailbox = mailbox.PrimarySmtpAddress, Server = location.Server.Fqdn, Detail = "the server has no umEndpoint",
                    };
                }
                return new SipAnswer(302, "Moved Temporarily")
                {
                    Contact = ContactFor(ContactUser(dialled, called), endpoint, transport),
                    Called = called.Value,
                    Mailbox = mailbox.PrimarySmtpAddress,
                    Server = location.Server.Fqdn,
                };
            }
        }
        catch (LocatorUnavailableException ex)
        {
            LogLocatorDown(logger, ex.Message);
            return new SipAnswer(503, "Service Unavailable") { RetryAfterSeconds = current.RetryAfterSeconds, Called = dialled, Detail = "locator unavailable" };
        }
        if (dialled is not null && current.PilotNumbers.Contains(dialled, StringComparer.Ordinal))
        {
            var site = gateway.Value.Site;
            var servers = locator.Servers
                .Where(s => s.UmEndpoint is not null && !s.IsFrontEnd && (site is null || string.Equals(s.Site, site, StringComparison.OrdinalIgnoreCase)))
                .ToList();
            if (servers.Count == 0)
            {
                return new SipAnswer(480, "Temporarily Unavailable") { Called = dialled, Detail = "no server of the site has a umEndpoint" };
            }
            var server = servers[(int)((uint)Interlocked.Increment(ref _pilotTurn) % (uint)servers.Count)];
            return new SipAnswer(302, "Moved Temporarily")
            {
                Contact = ContactFor(dialled, server.UmEndpoint!, transport),
                Called = dialled,
                Server = server.Fqdn,
                Detail = "pilot number",
            };
        }
        return new SipAnswer(404, "Not Found") { Called = dialled, Detail = "no mailbox has this number or address" };
    }

    /// <summary><c>&lt;sip:user@host:port;transport=…&gt;</c>: the same user, at the server's voice endpoint, over the caller's transport.</summary>
    private static string ContactFor(string user, DnsEndPoint endpoint, SipTransport transport)
    {
        var host = IPAddress.TryParse(endpoint.Host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{endpoint.Host}]"
            : endpoint.Host;
        return $"<sip:{user}@{host}:{endpoint.Port};transport={transport.ToString().ToLowerInvariant()}>";
    }

    /// <summary>The user part for a Contact: the dialled user when it is plain (digits, letters, a few marks), else the directory's.</summary>
    private static string ContactUser(string? dialled, VoiceAddress called)
    {
        static bool Plain(string? user) => user is { Length: > 0 and <= 64 } && user.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '_' or '.' or '~');
        if (Plain(dialled))
        {
            return dialled!;
        }
        var own = called.Kind == VoiceAddressKind.SipAddress ? called.Value.Split('@')[0] : called.Value;
        return Plain(own) ? own : "voicemail";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP call router: the directory is unavailable ({Reason}); answering 503")]
    private static partial void LogLocatorDown(ILogger logger, string reason);
}
