using System.Net;
using System.Security.Cryptography;
using CasGateway.DemoBackend;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.RequestPath;

/// <summary>Issue 2: large bodies stream through in both directions, intact, without being buffered.</summary>
[Collection(MemorySensitive.Name)]
public sealed class StreamingTests : IAsyncLifetime
{
    private const long Size = 20L * 1024 * 1024;
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology);
        _client = _gateway.CreateClient(timeout: TimeSpan.FromMinutes(2));
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    [Fact]
    public async Task Upload_of_20_MB_arrives_intact_and_is_not_buffered()
    {
        var alice = _topology.Directory.Mailbox("alice@contoso.com");
        await WarmUpAsync(alice);
        using var probe = new HeapProbe();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/EWS/upload") { Content = new PatternContent(Size) };
        request.Headers.Authorization = TestGateway.Basic(alice);
        using var response = await _client.SendAsync(request);
        var answer = await response.ReadAnswerAsync();
        var growth = probe.PeakGrowth;

        Assert.Equal(Size, answer.BodyBytes);
        Assert.Equal(DemoPayload.Sha256Of(Size), answer.BodySha256);
        Assert.True(growth < Size / 2, $"heap grew by {growth / 1024 / 1024} MB while 20 MB streamed through");
    }

    [Fact]
    public async Task Download_of_20_MB_arrives_intact_and_is_not_buffered()
    {
        var bob = _topology.Directory.Mailbox("bob@contoso.com");
        await WarmUpAsync(bob);
        using var probe = new HeapProbe();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/owa/attachment?download={Size}");
        request.Headers.Authorization = TestGateway.Basic(bob);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }
        var growth = probe.PeakGrowth;

        Assert.Equal(Size, total);
        Assert.Equal(DemoPayload.Sha256Of(Size), Convert.ToHexString(hash.GetHashAndReset()));
        Assert.True(growth < Size / 2, $"heap grew by {growth / 1024 / 1024} MB while 20 MB streamed through");
    }

    private async Task WarmUpAsync(TestMailbox mailbox)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/EWS/warm") { Content = new PatternContent(1024 * 1024) };
        request.Headers.Authorization = TestGateway.Basic(mailbox);
        (await (await _client.SendAsync(request)).ReadAnswerAsync()).ToString();
    }

    /// <summary>Streams the demo payload pattern without holding it.</summary>
    private sealed class PatternContent(long size) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            long sent = 0;
            while (sent < size)
            {
                var count = (int)Math.Min(DemoPayload.Chunk.Length, size - sent);
                await stream.WriteAsync(DemoPayload.Chunk.AsMemory(0, count));
                sent += count;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = size;
            return true;
        }
    }
}
