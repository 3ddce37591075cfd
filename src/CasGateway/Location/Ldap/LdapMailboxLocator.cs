using System.Collections.Concurrent;
using CasGateway.Anchoring;
using Microsoft.Extensions.Options;

namespace CasGateway.Location.Ldap;

/// <summary>
/// The LDAP locator: mailbox user → <c>homeMDB</c> database → <c>msExchOwningServer</c> server, read on each cache
/// miss, so a database moved in the directory is followed once the cached location expires. The server list (the
/// forwarder's destinations) is re-read every health-check interval; a change raises <see cref="Changed"/>.
/// </summary>
internal sealed partial class LdapMailboxLocator : IMailboxLocator, ILocatorStore, IVoiceDirectory, IObjectIdDirectory, IDisposable
{
    private readonly LdapDirectory _directory;
    private readonly LdapServerPool _pool;
    private readonly ILogger<LdapMailboxLocator> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private volatile IReadOnlyDictionary<string, MailboxServer> _byDn = new Dictionary<string, MailboxServer>();

    public LdapMailboxLocator(LdapDirectory directory, LdapServerPool pool, IOptions<LocatorOptions> options, ILogger<LdapMailboxLocator> logger)
    {
        _directory = directory;
        _pool = pool;
        _logger = logger;
        // Read once before the first request so the forwarder knows the servers; a directory down at start is
        // reported by /readyz and read again by the loop.
        RefreshAsync(_stopping.Token).GetAwaiter().GetResult();
        _ = RefreshLoopAsync(options.Value.Ldap.HealthCheckInterval);
    }

    public IReadOnlyList<MailboxServer> Servers => [.. _byDn.Values.DistinctBy(s => s.Fqdn, StringComparer.OrdinalIgnoreCase)];

    public string StoreName => "Ldap " + _pool.Current;

    public event Action? Changed;

    public async ValueTask<MailboxLocation?> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
    {
        if (await _directory.FindMailboxAsync(anchor, cancellationToken) is not { DatabaseDn: { } databaseDn } entry)
        {
            return null;
        }
        if (await _directory.ReadDatabaseAsync(databaseDn, cancellationToken) is not { ServerDn: { } serverDn } database)
        {
            LogNoServer(_logger, entry.Mailbox.PrimarySmtpAddress, databaseDn);
            return null;
        }
        if (!_byDn.TryGetValue(serverDn, out var server))
        {
            server = await _directory.ReadServerAsync(serverDn, cancellationToken);
            if (server is null)
            {
                LogNoServer(_logger, entry.Mailbox.PrimarySmtpAddress, databaseDn);
                return null;
            }
            // A server the list did not select: the forwarder needs it as a destination too.
            Publish(new Dictionary<string, MailboxServer>(_byDn, StringComparer.OrdinalIgnoreCase) { [serverDn] = server });
        }
        return new MailboxLocation(entry.Mailbox with { DatabaseName = database.Name }, new MailboxDatabase(database.Name, database.Guid, server, [server]));
    }

    public async ValueTask<Mailbox?> FindVoiceUserAsync(VoiceAddress address, CancellationToken cancellationToken)
        => (await _directory.FindVoiceUserAsync(address, cancellationToken))?.Mailbox;

    public async ValueTask<Mailbox?> FindByObjectIdAsync(Guid objectId, CancellationToken cancellationToken)
        => (await _directory.FindByObjectIdAsync(objectId, cancellationToken))?.Mailbox;

    /// <summary>Stops the background loop (the container may call this once per registration: idempotent).</summary>
    public void Dispose() => _stopping.Cancel();

    private async Task RefreshLoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                await RefreshAsync(_stopping.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var servers = await _directory.ListServersAsync(cancellationToken);
            var next = new Dictionary<string, MailboxServer>(StringComparer.OrdinalIgnoreCase);
            foreach (var (dn, server) in servers)
            {
                next[dn] = server;
            }
            Publish(next);
        }
        catch (LocatorUnavailableException ex)
        {
            LogUnavailable(_logger, ex.Message);
        }
    }

    private void Publish(Dictionary<string, MailboxServer> next)
    {
        var previous = _byDn;
        _byDn = next;
        if (previous.Count != next.Count || next.Any(kv => !previous.TryGetValue(kv.Key, out var old) || old != kv.Value))
        {
            LogServers(_logger, next.Count);
            Changed?.Invoke();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Directory lists {Count} mailbox server(s)")]
    private static partial void LogServers(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mailbox server list cannot be read: {Problem}")]
    private static partial void LogUnavailable(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mailbox {Mailbox}: database {Database} is missing or names no server it is mounted on")]
    private static partial void LogNoServer(ILogger logger, string mailbox, string database);
}
