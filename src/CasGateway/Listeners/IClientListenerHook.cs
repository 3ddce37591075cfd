using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace CasGateway.Listeners;

/// <summary>
/// Lets another stage add connection middleware to the client listener, ahead of TLS, or adjust its TLS settings.
/// Hooks run in registration order; the first registered sees the connection first.
/// </summary>
public interface IClientListenerHook
{
    void Configure(ListenOptions listen, HttpsConnectionAdapterOptions https);
}
