using System.Diagnostics;
using CasGateway.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace CasGateway.Location;

/// <summary>
/// The embedded directory store: a JSON file loaded at start (a bad file stops the gateway) and reloaded when it
/// changes (a bad edit keeps the last good directory and is logged).
/// </summary>
public sealed class DirectoryFileSource : IDisposable
{
    /// <summary>Editors write in several steps: a burst of file events closer together than this is one reload.</summary>
    private static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(100);
    private readonly string _path;
    private readonly ILogger<DirectoryFileSource> _logger;
    private readonly PhysicalFileProvider? _polling;
    private readonly IDisposable _watch;
    private readonly Timer _settle;
    private readonly Lock _reloadLock = new();
    private DirectorySnapshot _current;

    public DirectoryFileSource(IOptions<LocatorOptions> options, IHostEnvironment environment, ILogger<DirectoryFileSource> logger)
    {
        _logger = logger;
        _path = Path.GetFullPath(options.Value.File.Path, environment.ContentRootPath);
        var started = Stopwatch.GetTimestamp();
        _current = Load(_path);
        var took = Stopwatch.GetElapsedTime(started);
        _settle = new Timer(_ => Reload());
        if (options.Value.File.UsePolling)
        {
            _polling = new PhysicalFileProvider(Path.GetDirectoryName(_path)!) { UsePollingFileWatcher = true, UseActivePolling = true };
            _watch = ChangeToken.OnChange(() => _polling.Watch(Path.GetFileName(_path)), OnFileChanged);
        }
        else
        {
            _watch = new FileChangeWatcher([_path], OnFileChanged);
        }
        _logger.LogInformation("Directory loaded from {DirectoryPath}: {Mailboxes} mailboxes, {Servers} servers in {LoadMilliseconds:F0} ms", _path, _current.MailboxCount, _current.Servers.Count, took.TotalMilliseconds);
    }

    /// <summary>The last good directory.</summary>
    public DirectorySnapshot Current => Volatile.Read(ref _current);

    public string FilePath => _path;

    /// <summary>Raised after a new directory version took effect.</summary>
    public event Action? Changed;

    public void Dispose()
    {
        _watch.Dispose();
        _polling?.Dispose();
        _settle.Dispose();
    }

    internal static DirectorySnapshot Load(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DirectoryLoadException($"Directory file '{path}' cannot be read: {ex.Message}", ex);
        }
        using (file)
        {
            try
            {
                return DirectoryParser.Parse(path, file);
            }
            catch (IOException ex)
            {
                throw new DirectoryLoadException($"Directory file '{path}' cannot be read: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Each event restarts the settle timer, so the reload runs once, after the last event of a burst.</summary>
    private void OnFileChanged() => _settle.Change(SettleTime, Timeout.InfiniteTimeSpan);

    /// <summary>Runs on the settle timer; the lock keeps a reload started by a later burst from being overtaken by an earlier one.</summary>
    private void Reload()
    {
        lock (_reloadLock)
        {
            try
            {
                var started = Stopwatch.GetTimestamp();
                var next = Load(_path);
                Volatile.Write(ref _current, next);
                _logger.LogInformation("Directory reloaded from {DirectoryPath}: {Mailboxes} mailboxes, {Servers} servers in {LoadMilliseconds:F0} ms", _path, next.MailboxCount, next.Servers.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (DirectoryLoadException ex)
            {
                _logger.LogError("Directory edit rejected, keeping the last good directory: {Problem}", ex.Message);
                return;
            }
        }
        Changed?.Invoke();
    }
}
