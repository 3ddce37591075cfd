using CasGateway.Health;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;

namespace CasGateway.Mail.Core;

/// <summary>
/// Health and drain from the HTTP side, applied to IMAP, POP3 and SMTP: a listener stops accepting sessions as soon as its
/// component (<c>Imap</c>, <c>Pop</c>, <c>Smtp</c>, or the node) leaves service; sessions already open go on through the grace
/// period; then each is closed once it is quiet (pre-login at once, logged-in sessions when neither side has sent
/// anything for <see cref="MailOptions.DrainQuietPeriod"/>, all at once when the component is Inactive).
/// </summary>
public sealed class MailDrain(DrainCoordinator drain, LongLivedRequestRegistry sessions, IOptionsMonitor<MailOptions> options)
{
    public static ServerComponent ComponentOf(MailProtocol protocol) => protocol switch
    {
        MailProtocol.Imap => ServerComponent.Imap,
        MailProtocol.Pop3 => ServerComponent.Pop,
        _ => ServerComponent.Smtp,
    };

    /// <summary>
    /// Registers a new session with the drain (ended with the component's long-lived requests, or when Kestrel asks
    /// the connection to close on shutdown) until the returned presence is disposed.
    /// </summary>
    public MailSessionPresence Enter(MailProtocol protocol, ConnectionContext connection)
    {
        var closeRequested = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        var component = ComponentOf(protocol);
        var registration = sessions.Register(component, protocol switch
        {
            MailProtocol.Imap => "IMAP session",
            MailProtocol.Pop3 => "POP3 session",
            _ => "SMTP session",
        }, closeRequested);
        return new MailSessionPresence(registration, () => drain.PhaseOf(component), options.CurrentValue.DrainQuietPeriod);
    }
}

/// <summary>One session's standing with the drain.</summary>
public sealed class MailSessionPresence : IDisposable
{
    private readonly LongLivedRequestRegistry.Registration _registration;
    private readonly Func<DrainPhase> _phase;

    internal MailSessionPresence(LongLivedRequestRegistry.Registration registration, Func<DrainPhase> phase, TimeSpan quietPeriod)
    {
        _registration = registration;
        _phase = phase;
        QuietPeriod = quietPeriod;
    }

    /// <summary>Whether a new session may start (checked after registering, so a drain starting meanwhile still ends it).</summary>
    public bool Accepting => _phase() == DrainPhase.Serving;

    /// <summary>Signalled when the session should close as soon as it is quiet.</summary>
    public CancellationToken LeaveRequested => _registration.Token;

    /// <summary>The component is Inactive: close without waiting for a quiet moment.</summary>
    public bool CloseAtOnce => _phase() == DrainPhase.Inactive;

    /// <summary>How long a logged-in session must be silent both ways before a drain closes it.</summary>
    public TimeSpan QuietPeriod { get; }

    public void Dispose() => _registration.Dispose();
}
