using System.Collections.Concurrent;

namespace CasGateway.Health;

/// <summary>
/// The long-lived requests in flight (ActiveSync Ping, MAPI NotificationWait, RPC channels, WebSockets), each with
/// its own cancellation source, so a drain can end them when its grace period is over.
/// </summary>
public sealed class LongLivedRequestRegistry
{
    private readonly ConcurrentDictionary<Registration, byte> _active = new();

    public int Count => _active.Count;

    /// <summary>Tracks a request until the registration is disposed; its token is cancelled by a drain or by the client.</summary>
    public Registration Register(ServerComponent component, string kind, CancellationToken requestAborted)
    {
        var registration = new Registration(this, component, kind, requestAborted);
        _active.TryAdd(registration, 0);
        return registration;
    }

    /// <summary>Ends the component's long-lived requests (<c>ServerWideOffline</c>: all of them); returns how many.</summary>
    public int EndAll(ServerComponent component)
    {
        var ended = 0;
        foreach (var registration in _active.Keys)
        {
            if ((component == ServerComponent.ServerWideOffline || registration.Component == component) && registration.End())
            {
                ended++;
            }
        }
        return ended;
    }

    public sealed class Registration : IDisposable
    {
        private readonly LongLivedRequestRegistry _owner;
        private readonly CancellationTokenSource _source;
        private readonly Lock _gate = new();
        private bool _disposed;

        internal Registration(LongLivedRequestRegistry owner, ServerComponent component, string kind, CancellationToken requestAborted)
        {
            _owner = owner;
            Component = component;
            Kind = kind;
            _source = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        }

        public ServerComponent Component { get; }

        public string Kind { get; }

        /// <summary>Cancelled when the client goes away or a drain ends the request.</summary>
        public CancellationToken Token => _source.Token;

        /// <summary>Whether a drain ended the request (as opposed to the client or the backend).</summary>
        public bool EndedByDrain { get; private set; }

        public void Dispose()
        {
            _owner._active.TryRemove(this, out _);
            lock (_gate)
            {
                _disposed = true;
                _source.Dispose();
            }
        }

        internal bool End()
        {
            lock (_gate)
            {
                if (_disposed || EndedByDrain)
                {
                    return false;
                }
                EndedByDrain = true;
                _source.Cancel();
                return true;
            }
        }
    }
}
