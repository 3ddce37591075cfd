using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CasGateway.Mail;

/// <summary><c>Gateway:Mail</c>: the IMAP, POP3 and SMTP front doors and how the gateway logs in to mailbox servers.</summary>
public sealed class MailOptions
{
    public const string Section = "Gateway:Mail";

    [Required]
    [ValidateObjectMembers]
    public MailListenerOptions Imap { get; set; } = new();

    [Required]
    [ValidateObjectMembers]
    public MailListenerOptions Pop { get; set; } = new();

    [Required]
    [ValidateObjectMembers]
    public Smtp.SmtpOptions Smtp { get; set; } = new();

    /// <summary>Accept passwords and tokens on connections without TLS (each such login is logged as a warning).</summary>
    public bool AllowPlainTextLogin { get; set; }

    /// <summary>Longest command line accepted before login, in bytes.</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxLineLength { get; set; } = 16 * 1024;

    /// <summary>Largest IMAP literal accepted before login, in bytes (a LOGIN argument needs very little).</summary>
    [Range(0, 1024 * 1024)]
    public int MaxLiteralSizeBeforeLogin { get; set; } = 8 * 1024;

    /// <summary>Failed logins allowed per connection; the last one closes it.</summary>
    [Range(1, 100)]
    public int MaxFailedAttempts { get; set; } = 3;

    /// <summary>Pause before answering a failed login, to slow down password guessing.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan FailedAttemptDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>IMAP and POP3 connections one source address (IPv6: one /64) may hold open before logging in, on this node.</summary>
    [Range(1, 100_000)]
    public int MaxPreLoginConnectionsPerSource { get; set; } = 20;

    /// <summary>Longest silence from a client that has not logged in yet.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PreLoginIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Once a drain's grace period is over (or on shutdown), a logged-in session is closed when neither side has sent
    /// anything for this long, i.e. between commands; an Inactive component closes its sessions at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan DrainQuietPeriod { get; set; } = TimeSpan.FromSeconds(1);

    [Required]
    [ValidateObjectMembers]
    public MailBackendOptions Backend { get; set; } = new();
}

/// <summary>The listeners of one protocol. A port of 0 picks a free port; no port disables that listener.</summary>
public sealed class MailListenerOptions
{
    /// <summary>TLS from the first byte (IMAP 993, POP3 995).</summary>
    [Range(0, 65535)]
    public int? ImplicitTlsPort { get; set; }

    /// <summary>Clear text until the client asks for STARTTLS / STLS (IMAP 143, POP3 110).</summary>
    [Range(0, 65535)]
    public int? StartTlsPort { get; set; }

    public bool Enabled => ImplicitTlsPort is not null || StartTlsPort is not null;
}

/// <summary>How the gateway protects its connection to a mailbox server's IMAP/POP3 endpoint.</summary>
public enum MailBackendTls
{
    /// <summary>No TLS: only for a trusted network.</summary>
    None,

    /// <summary>TLS from the first byte (the endpoint is an imaps/pop3s port).</summary>
    ImplicitTls,

    /// <summary>STARTTLS / STLS right after the greeting.</summary>
    StartTls,
}

/// <summary><c>Gateway:Mail:Backend</c>: the privileged login to mailbox servers.</summary>
public sealed class MailBackendOptions
{
    /// <summary>The login name sent to the mailbox server: <c>{user}</c> is the mailbox's address, <c>{master}</c> the master user.</summary>
    [Required]
    [RegularExpression(@"^[^\s""\\]*\{user\}[^\s""\\]*$", ErrorMessage = "LoginFormat must contain {{user}} and no spaces, quotes or backslashes, e.g. {{user}}*{{master}}.")]
    public string LoginFormat { get; set; } = "{user}*{master}";

    /// <summary>The gateway's master user on the mailbox servers.</summary>
    [RegularExpression(@"^[^\s""\\]{1,256}$", ErrorMessage = "MasterUser must be 1-256 characters without spaces, quotes or backslashes.")]
    public string? MasterUser { get; set; }

    /// <summary>The master user's password.</summary>
    [RegularExpression(@"^[^\x00-\x1f\x7f]{1,1024}$", ErrorMessage = "MasterPassword must be 1-1024 characters without control characters.")]
    public string? MasterPassword { get; set; }

    public MailBackendTls Tls { get; set; } = MailBackendTls.ImplicitTls;

    /// <summary>
    /// Tell the mailbox server the client's address before logging in (IMAP <c>ID ("x-originating-ip" …)</c>, POP3
    /// <c>XCLIENT ADDR=…</c> when offered), so its logs and rate limits see the client, not the gateway. Dovecot
    /// honours both from addresses in its <c>login_trusted_networks</c>; servers that do not are unaffected.
    /// </summary>
    public bool ForwardClientAddress { get; set; } = true;

    /// <summary>SHA-256 thumbprints of mailbox server certificates to trust (pinning); empty = the system's trust.</summary>
    public List<string> TrustedCertificateThumbprints { get; set; } = [];

    /// <summary>How long to wait for TCP + TLS to a mailbox server.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long to wait for the mailbox server's greeting and login answer.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The login name for the mailbox <paramref name="address"/>.</summary>
    public string LoginNameFor(string address) => LoginFormat.Replace("{user}", address, StringComparison.Ordinal)
        .Replace("{master}", MasterUser, StringComparison.Ordinal);
}
