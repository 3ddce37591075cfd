using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace CasGateway.Observability;

/// <summary>
/// The response body feature with byte counting (for <c>ResponseBytes</c>): writes through the stream or the pipe
/// are counted and passed on to the server's own feature, which keeps its buffering, flushing and completion.
/// </summary>
internal sealed class CountingResponseBody : IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private readonly CountingWriteStream _stream;
    private readonly CountingPipeWriter _writer;

    public CountingResponseBody(IHttpResponseBodyFeature inner)
    {
        _inner = inner;
        _stream = new CountingWriteStream(inner.Stream);
        _writer = new CountingPipeWriter(inner.Writer);
    }

    public long Count => _stream.Count + _writer.Count;

    public Stream Stream => _stream;

    public PipeWriter Writer => _writer;

    public void DisableBuffering() => _inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => _inner.StartAsync(cancellationToken);

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await _inner.SendFileAsync(path, offset, count, cancellationToken);
        _stream.Add(count ?? new FileInfo(path).Length - offset);
    }

    public Task CompleteAsync() => _inner.CompleteAsync();
}
