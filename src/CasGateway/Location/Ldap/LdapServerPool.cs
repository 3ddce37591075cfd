using System.Collections.Concurrent;
using System.DirectoryServices.Protocols;
using System.Net;
using System.Security.Cryptography;
using CasGateway.Configuration;
using Microsoft.Extensions.Options;

namespace CasGateway.Location.Ldap;

/// <summary>
/// Connections to the directory servers, tried in the configured order: a few bound connections kept per server,
/// TLS always (LDAPS, or StartTLS before the bind) with the server's certificate checked against the configured CA
/// or the system's trust store, every operation bounded by <see cref="LdapLocatorOptions.OperationTimeout"/>. A
/// server that fails is skipped until a background probe finds it answering again.
/// </summary>
internal sealed partial class LdapServerPool : IDisposable
{
    private readonly LdapLocatorOptions _options;
    private readonly NetworkCredential _service;
    private readonly string? _trustFolder;
    private readonly ServerSlot[] _slots;
    private readonly ILogger<LdapServerPool> _logger;
    private readonly CancellationTokenSource _stopping = new();

    public LdapServerPool(IOptions<LocatorOptions> options, IOptions<GatewayOptions> gateway, IHostEnvironment environment, ILogger<LdapServerPool> logger)
    {
        _options = options.Value.Ldap;
        _logger = logger;
        _service = new NetworkCredential(_options.BindDn, _options.BindPassword);
        _trustFolder = TrustFolder(_options.TrustedCaPath, environment.ResolveDataPath(gateway.Value));
        _slots = [.. _options.Servers.Select(s => TryParseServer(s, out var server) ? new ServerSlot(server, _options.PoolSize) : throw new GatewayConfigurationException([$"{LocatorOptions.Section}:Ldap:Servers: '{s}' is not an LDAP URL."]))];
        _ = ProbeLoopAsync();
    }

    /// <summary>The directory server lookups go to now (the first one answering), for <c>/readyz</c> and the log.</summary>
    public string Current => (_slots.FirstOrDefault(s => s.Healthy) ?? _slots[0]).Server.ToString();

    /// <summary>Parses <c>ldaps://host[:port]</c> or <c>ldap://host[:port]</c> (then StartTLS).</summary>
    public static bool TryParseServer(string? text, out LdapServer server)
    {
        server = default;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("ldap" or "ldaps")
            || uri.AbsolutePath is not ("" or "/") || uri.Query.Length > 0 || uri.UserInfo.Length > 0 || uri.Host.Length == 0)
        {
            return false;
        }
        var ldaps = uri.Scheme == "ldaps";
        server = new LdapServer(uri.IdnHost, uri.IsDefaultPort || uri.Port < 0 ? (ldaps ? 636 : 389) : uri.Port, ldaps);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="operation"/> on a service-bound connection of the first server that answers. A server
    /// that cannot be reached is marked down and the next is tried; when none answers, the lookup is unavailable.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<LdapConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var slot in Candidates())
        {
            await slot.Gate.WaitAsync(cancellationToken);
            LdapConnection? connection = null;
            try
            {
                // A pooled connection the server has since closed fails once; a fresh one decides about the server.
                for (var fresh = !slot.Idle.TryTake(out connection); ; fresh = true)
                {
                    connection ??= await OpenAsync(slot.Server, _service, cancellationToken);
                    try
                    {
                        var result = await operation(connection, cancellationToken);
                        slot.Idle.Add(connection);
                        connection = null;
                        MarkUp(slot);
                        return result;
                    }
                    catch (LdapException) when (!fresh)
                    {
                        Discard(connection);
                        connection = null;
                    }
                }
            }
            catch (LdapException ex)
            {
                failures.Add($"{slot.Server}: {ex.Message}");
                MarkDown(slot, ex.Message);
            }
            catch (DirectoryOperationException ex)
            {
                throw new LocatorUnavailableException($"the directory refused the lookup ({slot.Server}: {ex.Response?.ResultCode}: {ex.Message})", ex);
            }
            finally
            {
                Discard(connection);
                slot.Gate.Release();
            }
        }
        throw new LocatorUnavailableException("no directory server answered: " + string.Join("; ", failures));
    }

    /// <summary>
    /// Binds as <paramref name="credential"/> on a fresh connection (never pooled: it carries the user's identity).
    /// True when the directory accepts it, false when it refuses it (wrong password, disabled, locked out).
    /// </summary>
    /// <exception cref="LocatorUnavailableException">No directory server answered.</exception>
    public async Task<bool> CanBindAsync(NetworkCredential credential, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var slot in Candidates())
        {
            try
            {
                using var connection = await OpenAsync(slot.Server, credential, cancellationToken);
                return true;
            }
            catch (LdapException ex) when (IsRefusal(ex))
            {
                return false;
            }
            catch (LdapException ex)
            {
                failures.Add($"{slot.Server}: {ex.Message}");
                MarkDown(slot, ex.Message);
            }
        }
        throw new LocatorUnavailableException("no directory server answered: " + string.Join("; ", failures));
    }

    public void Dispose()
    {
        _stopping.Cancel();
        foreach (var slot in _slots)
        {
            while (slot.Idle.TryTake(out var connection))
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>The directory answered the bind and said no (as opposed to: could not be asked).</summary>
    private static bool IsRefusal(LdapException ex)
        => ex.ErrorCode is 48 /* inappropriate authentication */ or 49 /* invalid credentials */ or 50 /* insufficient access */
            or 53 /* unwilling to perform */ or 19 /* constraint violation (locked out) */;

    /// <summary>Servers believed up, in order; if none is, every server in order.</summary>
    private IEnumerable<ServerSlot> Candidates()
    {
        var healthy = _slots.Where(s => s.Healthy).ToList();
        return healthy.Count > 0 ? healthy : _slots;
    }

    /// <summary>
    /// Closes a connection off the caller's path: closing one whose request is still outstanding (a directory that
    /// accepts but never answers) blocks in the native library until the server speaks or the socket dies, and the
    /// request that gave up on it must not wait for that.
    /// </summary>
    private static void Discard(LdapConnection? connection)
    {
        if (connection is not null)
        {
            _ = Task.Run(connection.Dispose, CancellationToken.None);
        }
    }

    private async Task<LdapConnection> OpenAsync(LdapServer server, NetworkCredential credential, CancellationToken cancellationToken)
    {
        // The native bind is synchronous: run it off the caller's thread and stop waiting at the operation timeout.
        var open = Task.Run(() => Open(server, credential), CancellationToken.None);
        try
        {
            return await open.WaitAsync(_options.OperationTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            _ = open.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw new LdapException(85, $"no answer within {_options.OperationTimeout.TotalSeconds:0.###} s");
        }
    }

    private LdapConnection Open(LdapServer server, NetworkCredential credential)
    {
        var connection = new LdapConnection(new LdapDirectoryIdentifier(server.Host, server.Port, fullyQualifiedDnsHostName: true, connectionless: false));
        try
        {
            connection.Timeout = _options.OperationTimeout;
            var session = connection.SessionOptions;
            session.ProtocolVersion = 3;
            session.ReferralChasing = ReferralChasingOptions.None;
            session.SecureSocketLayer = server.Ldaps;
            if (!OperatingSystem.IsWindows())
            {
                // libldap (OpenLDAP's client): a CA folder, and a TLS context of this connection's own.
                if (_trustFolder is not null)
                {
                    session.TrustedCertificatesDirectory = _trustFolder;
                }
                session.StartNewTlsSessionContext();
            }
            if (!server.Ldaps)
            {
                // libldap connects on the first bind; StartTLS needs the connection, so an anonymous bind goes first.
                connection.AuthType = AuthType.Anonymous;
                connection.Bind();
                session.StartTransportLayerSecurity(null);
            }
            connection.AuthType = AuthType.Basic;
            connection.Bind(credential);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task ProbeLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.HealthCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                foreach (var slot in _slots)
                {
                    await ProbeAsync(slot);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>A service bind and a read of the root DSE.</summary>
    private async Task ProbeAsync(ServerSlot slot)
    {
        try
        {
            using var connection = await OpenAsync(slot.Server, _service, _stopping.Token);
            await connection.SearchAsync(new SearchRequest("", "(objectClass=*)", SearchScope.Base, "namingContexts"), _options.OperationTimeout, _stopping.Token);
            MarkUp(slot);
        }
        catch (Exception ex) when (ex is LdapException or DirectoryOperationException)
        {
            MarkDown(slot, ex.Message);
        }
    }

    private void MarkUp(ServerSlot slot)
    {
        if (!slot.Healthy)
        {
            slot.Healthy = true;
            LogUp(_logger, slot.Server.ToString());
        }
    }

    private void MarkDown(ServerSlot slot, string reason)
    {
        while (slot.Idle.TryTake(out var stale))
        {
            stale.Dispose();
        }
        if (slot.Healthy)
        {
            slot.Healthy = false;
            LogDown(_logger, slot.Server.ToString(), reason);
        }
    }

    /// <summary>A CA folder for libldap: the configured folder, or a private folder holding the configured file.</summary>
    private static string? TrustFolder(string? path, string dataPath)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        if (Directory.Exists(path))
        {
            return Path.GetFullPath(path);
        }
        var pem = File.ReadAllBytes(path);
        var folder = Path.Combine(dataPath, "ldap-trust", Convert.ToHexString(SHA256.HashData(pem))[..16]);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "ca.pem"), pem);
        return folder;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Directory server {Server} is down, trying the next one: {Reason}")]
    private static partial void LogDown(ILogger logger, string server, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Directory server {Server} answers again")]
    private static partial void LogUp(ILogger logger, string server);

    private sealed class ServerSlot(LdapServer server, int size)
    {
        public LdapServer Server { get; } = server;

        public SemaphoreSlim Gate { get; } = new(size, size);

        public ConcurrentBag<LdapConnection> Idle { get; } = [];

        public volatile bool Healthy = true;
    }
}

/// <summary>One directory server: host, port, and LDAPS (else StartTLS).</summary>
internal readonly record struct LdapServer(string Host, int Port, bool Ldaps)
{
    public override string ToString() => $"{(Ldaps ? "ldaps" : "ldap")}://{Host}:{Port}";
}

internal static class LdapConnectionExtensions
{
    /// <summary>A search, asynchronously, bounded by <paramref name="timeout"/> on the server and by the caller's token.</summary>
    public static async Task<SearchResponse> SearchAsync(this LdapConnection connection, SearchRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            // Started off the caller's thread: the native library can block in BeginSendRequest itself (a directory
            // that accepts connections and never answers), and the caller's timeout and token must still end the wait.
            var response = await Task.Run(
                () => Task.Factory.FromAsync(
                    (callback, state) => connection.BeginSendRequest(request, timeout, PartialResultProcessing.NoPartialResultSupport, callback, state),
                    connection.EndSendRequest,
                    null),
                CancellationToken.None).WaitAsync(timeout, cancellationToken);
            return (SearchResponse)response;
        }
        catch (TimeoutException)
        {
            throw new LdapException(85, $"no answer within {timeout.TotalSeconds:0.###} s");
        }
    }
}
