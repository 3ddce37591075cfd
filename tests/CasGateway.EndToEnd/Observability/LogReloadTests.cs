using System.Net;
using CasGateway.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace CasGateway.EndToEnd.Observability;

/// <summary>Issue 9: log level and sinks follow the configuration file without a restart.</summary>
public sealed class LogReloadTests : IAsyncLifetime
{
    private readonly CapturingLogSink _log = new();
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;
    private string _settingsFile = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _settingsFile = Path.Combine(_topology.Folder, "logging.json");
        WriteSettings("Warning", extraFile: null);
        _gateway = await TestGateway.StartAsync(
            _topology,
            services: services => services.AddSingleton<ILogEventSink>(_log),
            configure: builder => builder.Configuration.AddJsonFile(_settingsFile, optional: false, reloadOnChange: true));
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    private void WriteSettings(string level, string? extraFile)
    {
        var sink = extraFile is null
            ? ""
            : $$""", "WriteTo": { "Extra": { "Name": "File", "Args": { "path": "{{extraFile.Replace("\\", "\\\\", StringComparison.Ordinal)}}", "formatter": "Serilog.Formatting.Compact.CompactJsonFormatter, Serilog.Formatting.Compact" } } }""";
        File.WriteAllText(_settingsFile, $$"""{ "Serilog": { "MinimumLevel": { "Default": "{{level}}" }{{sink}} } }""");
    }

    private async Task<HttpStatusCode> SendAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await _client.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Sends requests to <paramref name="path"/> until one is logged (the file watcher takes a moment).</summary>
    private async Task<int> SendUntilLoggedAsync(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        for (var sent = 1; ; sent++)
        {
            Assert.Equal(HttpStatusCode.OK, await SendAsync(path));
            try
            {
                await _log.WaitForProtocolEventAsync(e => (string?)CapturingLogSink.Value(e, "UrlStem") == path, TimeSpan.FromMilliseconds(300));
                return sent;
            }
            catch (Xunit.Sdk.XunitException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    [Fact]
    public async Task Raising_the_level_in_the_file_turns_the_protocol_log_on_without_restart()
    {
        Assert.Equal(HttpStatusCode.OK, await SendAsync("/owa/before"));
        // Its completion has run once the next request on the same connection is answered.
        Assert.Equal(HttpStatusCode.OK, await SendAsync("/owa/probe"));
        Assert.Empty(_log.ProtocolEvents);

        WriteSettings("Information", extraFile: null);
        await SendUntilLoggedAsync("/owa/after");
        Assert.DoesNotContain(_log.ProtocolEvents, e => (string?)CapturingLogSink.Value(e, "UrlStem") == "/owa/before");

        WriteSettings("Warning", extraFile: null);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var before = _log.ProtocolEvents.Count;
            Assert.Equal(HttpStatusCode.OK, await SendAsync("/owa/quiet"));
            Assert.Equal(HttpStatusCode.OK, await SendAsync("/owa/probe"));
            if (_log.ProtocolEvents.Count == before)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "Lowering the level back to Warning never silenced the protocol log.");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_sink_added_to_the_file_starts_receiving_events_without_restart()
    {
        var extra = Path.Combine(_topology.Folder, "extra", "protocol.json");
        WriteSettings("Information", extra);
        await SendUntilLoggedAsync("/owa/with-extra-sink");
        // The event went through the rebuilt logger, whose new file sink wrote it.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!(File.Exists(extra) && ReadShared(extra).Contains("/owa/with-extra-sink", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "The sink added to the configuration file never wrote the event.");
            await Task.Delay(100);
        }
        Assert.Contains("\"ProxyAction\":\"Proxy\"", ReadShared(extra), StringComparison.Ordinal);
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }
}
