using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace CasGateway.Mail.Core;

/// <summary>What a read before login produced.</summary>
public enum LineStatus
{
    Line,

    /// <summary>No line end within the allowed length.</summary>
    TooLong,

    /// <summary>The peer closed the connection.</summary>
    Closed,

    /// <summary>The client said nothing for the pre-login idle timeout.</summary>
    IdleTimeout,

    /// <summary>The gateway is shutting down.</summary>
    ShuttingDown,
}

/// <summary>A line without its CR LF, or why there is none.</summary>
public readonly record struct LineRead(LineStatus Status, string Text)
{
    public static LineRead Of(LineStatus status) => new(status, "");
}

/// <summary>Reads CR LF (or bare LF) terminated lines from a pipe, refusing lines longer than a limit.</summary>
public static class LineReader
{
    private static readonly Encoding Utf8 = new UTF8Encoding(false, false);

    public static async ValueTask<LineRead> ReadLineAsync(PipeReader input, int maxLength, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } newline)
            {
                var line = buffer.Slice(0, newline);
                if (line.Length > maxLength + 1)
                {
                    input.AdvanceTo(buffer.End);
                    return LineRead.Of(LineStatus.TooLong);
                }
                var text = Utf8.GetString(line);
                input.AdvanceTo(buffer.GetPosition(1, newline));
                return new LineRead(LineStatus.Line, text.EndsWith('\r') ? text[..^1] : text);
            }
            if (buffer.Length > maxLength + 1)
            {
                input.AdvanceTo(buffer.End);
                return LineRead.Of(LineStatus.TooLong);
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.End);
                return LineRead.Of(LineStatus.Closed);
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (an IMAP literal); null when the peer closes first.</summary>
    public static async ValueTask<byte[]?> ReadBytesAsync(PipeReader input, int count, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return [];
        }
        var result = await input.ReadAtLeastAsync(count, cancellationToken);
        if (result.Buffer.Length < count)
        {
            input.AdvanceTo(result.Buffer.End);
            return null;
        }
        var bytes = result.Buffer.Slice(0, count).ToArray();
        input.AdvanceTo(result.Buffer.GetPosition(count));
        return bytes;
    }

    /// <summary>Whether the client already sent more than was read (e.g. commands pipelined after STARTTLS).</summary>
    public static bool HasBufferedData(PipeReader input)
    {
        if (!input.TryRead(out var result))
        {
            return false;
        }
        var any = !result.Buffer.IsEmpty;
        input.AdvanceTo(result.Buffer.Start);
        return any;
    }
}
