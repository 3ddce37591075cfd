using System.Net;
using CasGateway.Authentication;
using Microsoft.Extensions.Options;

namespace CasGateway.Mail.Core;

/// <summary>
/// Counts this node's IMAP and POP3 connections that have not logged in yet, per source address (IPv6 per /64, as
/// the failed-login limiter keys sources): one address may hold at most
/// <see cref="MailOptions.MaxPreLoginConnectionsPerSource"/>, so a guesser cannot multiply the per-connection
/// allowance by opening many connections. Logged-in sessions do not count. Connections are a node's own, so the
/// count stays in memory even when the failed-login limiter shares its store.
/// </summary>
public sealed class PreLoginConnections(IOptionsMonitor<MailOptions> options)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>A place for one more connection from <paramref name="source"/>, or null when it already has as many as allowed.</summary>
    public Ticket? TryEnter(IPAddress? source)
    {
        var key = FailedLoginLimiter.SourceKey(source);
        if (key is null)
        {
            return new Ticket(this, null);
        }
        lock (_lock)
        {
            var count = _counts.GetValueOrDefault(key);
            if (count >= options.CurrentValue.MaxPreLoginConnectionsPerSource)
            {
                return null;
            }
            _counts[key] = count + 1;
        }
        return new Ticket(this, key);
    }

    private void Leave(string key)
    {
        lock (_lock)
        {
            var count = _counts[key] - 1;
            if (count == 0)
            {
                _counts.Remove(key);
            }
            else
            {
                _counts[key] = count;
            }
        }
    }

    /// <summary>One connection's place until it logs in or closes; disposing twice is harmless.</summary>
    public sealed class Ticket(PreLoginConnections owner, string? key) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (key is not null && Interlocked.Exchange(ref _left, 1) == 0)
            {
                owner.Leave(key);
            }
        }
    }
}
