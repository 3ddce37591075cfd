using CasGateway.Mail.Core;
using Microsoft.AspNetCore.Connections;

namespace CasGateway.Mail.Smtp;

/// <summary>Kestrel's entry point for the submission listeners (587 with STARTTLS, 465 with implicit TLS).</summary>
public sealed class SmtpSubmissionConnectionHandler(MailSessionServices services, ILogger<SmtpSession> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        using var presence = services.Drain.Enter(MailProtocol.Smtp, connection);
        await using var client = new MailClient(connection, presence.LeaveRequested);
        await new SmtpSession(client, services, presence, inbound: false).RunAsync(logger);
    }
}

/// <summary>Kestrel's entry point for the inbound listener (25): mail from other organisations.</summary>
public sealed class SmtpInboundConnectionHandler(MailSessionServices services, ILogger<SmtpSession> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        using var presence = services.Drain.Enter(MailProtocol.Smtp, connection);
        await using var client = new MailClient(connection, presence.LeaveRequested);
        await new SmtpSession(client, services, presence, inbound: true).RunAsync(logger);
    }
}
