using CasGateway.Mail.Core;
using Microsoft.AspNetCore.Connections;

namespace CasGateway.Mail.Pop;

/// <summary>Kestrel's entry point for POP3 listeners (implicit TLS and STLS alike).</summary>
public sealed class PopConnectionHandler(MailSessionServices services, ILogger<PopConnectionHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        using var presence = services.Drain.Enter(MailProtocol.Pop3, connection);
        await using var client = new MailClient(connection, presence.LeaveRequested);
        await new PopSession(client, services, presence).RunAsync(logger);
    }
}
