using System.ComponentModel.DataAnnotations;

namespace CasGateway.Mail.Smtp;

/// <summary>
/// <c>Gateway:Mail:Smtp</c>: the SMTP front door (Exchange's Front End Transport). Each listener is optional and
/// off by default; a port of 0 picks a free port.
/// </summary>
public sealed class SmtpOptions
{
    /// <summary>Message submission for signed-in clients, clear text until STARTTLS (RFC 6409, usually 587).</summary>
    [Range(0, 65535)]
    public int? SubmissionPort { get; set; }

    /// <summary>Message submission over TLS from the first byte (RFC 8314, usually 465).</summary>
    [Range(0, 65535)]
    public int? SubmissionImplicitTlsPort { get; set; }

    /// <summary>Mail from other organisations: anonymous, STARTTLS offered, recipients checked against the directory (usually 25).</summary>
    [Range(0, 65535)]
    public int? InboundPort { get; set; }

    /// <summary>The name in the greeting and in EHLO answers, and the gateway's own EHLO to mailbox servers; default: the host name.</summary>
    [RegularExpression(@"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$", ErrorMessage = "HostName must be a host name such as mail.contoso.com.")]
    public string? HostName { get; set; }

    /// <summary>Largest message accepted (the <c>SIZE</c> announced; a larger <c>MAIL FROM … SIZE=</c> is refused before the backend sees it).</summary>
    [Range(typeof(long), "1024", "4294967296")]
    public long MaxMessageSize { get; set; } = 36L * 1024 * 1024;

    /// <summary>Recipients accepted per message before the message is relayed.</summary>
    [Range(1, 100_000)]
    public int MaxRecipients { get; set; } = 500;

    /// <summary>
    /// Domains the inbound listener accepts mail for (Exchange's accepted domains); a recipient elsewhere is refused
    /// with <c>550 5.7.54</c> without asking the directory. Empty: every recipient is looked up.
    /// </summary>
    public List<string> AcceptedDomains { get; set; } = [];

    /// <summary>Advertise CHUNKING (BDAT): turn on only when every mailbox server's SMTP endpoint offers it (Postfix 3.4+ does).</summary>
    public bool Chunking { get; set; }

    /// <summary>How the gateway protects its SMTP connection to a mailbox server's <c>smtpEndpoint</c>.</summary>
    public MailBackendTls BackendTls { get; set; } = MailBackendTls.StartTls;

    /// <summary>Whether any SMTP listener is configured.</summary>
    public bool Enabled => SubmissionPort is not null || SubmissionImplicitTlsPort is not null || InboundPort is not null;
}
