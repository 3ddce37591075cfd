using System.Collections.Concurrent;
using CasGateway.Listeners;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace CasGateway.Health;

/// <summary>
/// Kestrel connection middleware on the client listeners: knows every open client connection, so a drained node can
/// ask them all to close (HTTP/1.1 after the current response or at once when idle, HTTP/2 with GOAWAY, IMAP and
/// POP3 sessions once they are quiet).
/// </summary>
public sealed class ClientConnectionRegistry : IClientListenerHook
{
    private readonly ConcurrentDictionary<ConnectionContext, byte> _open = new();

    /// <summary>Client connections open right now.</summary>
    public int OpenConnections => _open.Count;

    public void Configure(ListenOptions listen, HttpsConnectionAdapterOptions https, ClientListenerKind kind)
        => listen.Use(next => async connection =>
        {
            _open.TryAdd(connection, 0);
            try
            {
                await next(connection);
            }
            finally
            {
                _open.TryRemove(connection, out _);
            }
        });

    /// <summary>Asks every open connection to close gracefully; returns how many were asked.</summary>
    public int RequestCloseAll()
    {
        var asked = 0;
        foreach (var connection in _open.Keys)
        {
            if (connection.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime)
            {
                lifetime.RequestClose();
                asked++;
            }
        }
        return asked;
    }
}
