using CasGateway.Mail.Core;
using Microsoft.AspNetCore.Connections;

namespace CasGateway.Mail.Imap;

/// <summary>Kestrel's entry point for IMAP listeners (implicit TLS and STARTTLS alike).</summary>
public sealed class ImapConnectionHandler(MailSessionServices services, ILogger<ImapConnectionHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        using var presence = services.Drain.Enter(MailProtocol.Imap, connection);
        await using var client = new MailClient(connection, presence.LeaveRequested);
        await new ImapSession(client, services, presence).RunAsync(logger);
    }
}
