using CasGateway.Anchoring;
using Microsoft.Extensions.Options;

namespace CasGateway.Location.Sql;

/// <summary>
/// The SQL locator: each lookup is a few indexed queries (nothing is loaded whole but the server list), so a
/// directory of millions of mailboxes starts at once. A background loop reads the change version; when it moves,
/// the server list is re-read and <see cref="Changed"/> empties the location cache.
/// </summary>
internal sealed partial class SqlMailboxLocator : IMailboxLocator, ILocatorStore, IVoiceDirectory, IObjectIdDirectory, IDisposable
{
    private readonly SqlDirectory _directory;
    private readonly ILogger<SqlMailboxLocator> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private IReadOnlyList<MailboxServer> _servers = [];
    private long? _version;

    public SqlMailboxLocator(SqlDirectory directory, IOptions<LocatorOptions> options, ILogger<SqlMailboxLocator> logger)
    {
        _directory = directory;
        _logger = logger;
        // The first read is awaited so the forwarder knows the servers from the first request; a database that is
        // down at start is reported by /readyz and retried by the loop.
        RefreshAsync(_stopping.Token).GetAwaiter().GetResult();
        _ = PollAsync(options.Value.Sql.ChangePollInterval);
    }

    public IReadOnlyList<MailboxServer> Servers => Volatile.Read(ref _servers);

    public string StoreName => _directory.Description;

    public event Action? Changed;

    public async ValueTask<MailboxLocation?> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
    {
        if (await _directory.FindMailboxAsync(anchor, cancellationToken) is not { Mailbox: var mailbox })
        {
            return null;
        }
        if (mailbox.CloudTargetAddress is not null)
        {
            return new MailboxLocation(mailbox, null);
        }
        return mailbox.DatabaseName is { } name && await _directory.FindDatabaseAsync(name, Servers, cancellationToken) is { } database
            ? new MailboxLocation(mailbox, database)
            : null;
    }

    public async ValueTask<Mailbox?> FindVoiceUserAsync(VoiceAddress address, CancellationToken cancellationToken)
        => await _directory.FindVoiceUserAsync(address, cancellationToken);

    public async ValueTask<Mailbox?> FindByObjectIdAsync(Guid objectId, CancellationToken cancellationToken)
        => await _directory.FindByObjectIdAsync(objectId, cancellationToken);

    /// <summary>Stops the background loop (the container may call this once per registration: idempotent).</summary>
    public void Dispose() => _stopping.Cancel();

    private async Task PollAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                if (await RefreshAsync(_stopping.Token))
                {
                    Changed?.Invoke();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>Re-reads the server list if the change version moved; true when it did (after a first read).</summary>
    private async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var version = await _directory.VersionAsync(cancellationToken);
            if (version == _version)
            {
                return false;
            }
            var servers = await _directory.ServersAsync(problem => LogBadRow(_logger, problem), cancellationToken);
            Volatile.Write(ref _servers, servers);
            var first = _version is null;
            _version = version;
            LogRead(_logger, _directory.Description, version, servers.Count);
            return !first;
        }
        catch (LocatorUnavailableException ex)
        {
            LogUnavailable(_logger, _directory.Description, ex.Message);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Directory {Store} at change version {Version}: {Servers} mailbox servers")]
    private static partial void LogRead(ILogger logger, string store, long version, int servers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Directory {Store} cannot be read: {Problem}")]
    private static partial void LogUnavailable(ILogger logger, string store, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "Directory row skipped: {Problem}")]
    private static partial void LogBadRow(ILogger logger, string problem);
}
