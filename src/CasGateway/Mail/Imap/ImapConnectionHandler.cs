using CasGateway.Mail.Core;
using Microsoft.AspNetCore.Connections;

namespace CasGateway.Mail.Imap;

/// <summary>Kestrel's entry point for IMAP listeners (implicit TLS and STARTTLS alike).</summary>
public sealed class ImapConnectionHandler(MailSessionServices services, ILogger<ImapConnectionHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        await using var client = new MailClient(connection);
        await new ImapSession(client, services).RunAsync(logger);
    }
}
