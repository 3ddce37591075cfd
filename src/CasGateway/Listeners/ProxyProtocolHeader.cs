using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CasGateway.Listeners;

/// <summary>What the first bytes of a connection say about a PROXY protocol header.</summary>
public enum ProxyHeaderStatus
{
    /// <summary>Too few bytes yet to decide.</summary>
    NeedMoreData,

    /// <summary>No PROXY header: the bytes belong to the next layer (TLS).</summary>
    NotProxy,

    /// <summary>A PROXY signature followed by something malformed.</summary>
    Invalid,

    /// <summary>A complete header.</summary>
    Parsed,
}

/// <summary>
/// A parsed PROXY protocol header (v1 text or v2 binary, as HAProxy's <c>send-proxy</c> / <c>send-proxy-v2</c>):
/// its length in bytes and the client's address, or null when the balancer speaks for itself (v2 LOCAL, v1 UNKNOWN,
/// or an address family other than IPv4/IPv6).
/// </summary>
public readonly record struct ProxyProtocolHeader(int Version, int Length, IPEndPoint? Source)
{
    /// <summary>Longest v1 line, CRLF included (protocol spec).</summary>
    public const int MaxV1Length = 107;

    /// <summary>Longest v2 header accepted: addresses plus a generous allowance for TLVs.</summary>
    public const int MaxV2Length = 16 + 2048;

    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public static ProxyHeaderStatus TryParse(ReadOnlySequence<byte> buffer, out ProxyProtocolHeader header)
    {
        header = default;
        if (buffer.IsEmpty)
        {
            return ProxyHeaderStatus.NeedMoreData;
        }
        Span<byte> first = stackalloc byte[1];
        buffer.Slice(0, 1).CopyTo(first);
        if (first[0] != V1Prefix[0] && first[0] != V2Signature[0])
        {
            // The common case, a TLS hello: decided by one byte, nothing copied.
            return ProxyHeaderStatus.NotProxy;
        }
        var available = (int)Math.Min(buffer.Length, MaxV2Length);
        Span<byte> bytes = available <= 256 ? stackalloc byte[available] : new byte[available];
        buffer.Slice(0, available).CopyTo(bytes);
        if (StartsLike(bytes, V1Prefix))
        {
            return bytes.Length < V1Prefix.Length ? ProxyHeaderStatus.NeedMoreData : ParseV1(bytes, out header);
        }
        if (StartsLike(bytes, V2Signature))
        {
            return bytes.Length < V2Signature.Length ? ProxyHeaderStatus.NeedMoreData : ParseV2(bytes, out header);
        }
        return ProxyHeaderStatus.NotProxy;
    }

    /// <summary>True when the bytes seen so far agree with <paramref name="prefix"/> (an empty buffer agrees with anything).</summary>
    private static bool StartsLike(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> prefix)
    {
        var n = Math.Min(bytes.Length, prefix.Length);
        return bytes[..n].SequenceEqual(prefix[..n]);
    }

    private static ProxyHeaderStatus ParseV1(ReadOnlySpan<byte> bytes, out ProxyProtocolHeader header)
    {
        header = default;
        var window = bytes[..Math.Min(bytes.Length, MaxV1Length)];
        var end = window.IndexOf("\r\n"u8);
        if (end < 0)
        {
            return bytes.Length >= MaxV1Length ? ProxyHeaderStatus.Invalid : ProxyHeaderStatus.NeedMoreData;
        }
        var line = Encoding.ASCII.GetString(window[..end]);
        var parts = line.Split(' ');
        var length = end + 2;
        if (parts.Length >= 2 && parts[1] == "UNKNOWN")
        {
            header = new ProxyProtocolHeader(1, length, null);
            return ProxyHeaderStatus.Parsed;
        }
        var family = parts.Length == 6 ? parts[1] switch
        {
            "TCP4" => AddressFamily.InterNetwork,
            "TCP6" => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        } : AddressFamily.Unknown;
        if (family == AddressFamily.Unknown
            || !IPAddress.TryParse(parts[2], out var source) || source.AddressFamily != family
            || !IPAddress.TryParse(parts[3], out var destination) || destination.AddressFamily != family
            || !TryParsePort(parts[4], out var sourcePort) || !TryParsePort(parts[5], out _))
        {
            return ProxyHeaderStatus.Invalid;
        }
        header = new ProxyProtocolHeader(1, length, new IPEndPoint(source, sourcePort));
        return ProxyHeaderStatus.Parsed;
    }

    private static ProxyHeaderStatus ParseV2(ReadOnlySpan<byte> bytes, out ProxyProtocolHeader header)
    {
        header = default;
        if (bytes.Length < 16)
        {
            return ProxyHeaderStatus.NeedMoreData;
        }
        var version = bytes[12] >> 4;
        var command = bytes[12] & 0x0F;
        var addressLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[14..16]);
        var length = 16 + addressLength;
        if (version != 2 || command > 1 || length > MaxV2Length)
        {
            return ProxyHeaderStatus.Invalid;
        }
        if (bytes.Length < length)
        {
            return ProxyHeaderStatus.NeedMoreData;
        }
        var addresses = bytes[16..length];
        IPEndPoint? source = null;
        if (command == 1)
        {
            switch (bytes[13] >> 4)
            {
                case 1 when addresses.Length >= 12:
                    source = new IPEndPoint(new IPAddress(addresses[..4]), BinaryPrimitives.ReadUInt16BigEndian(addresses[8..10]));
                    break;
                case 2 when addresses.Length >= 36:
                    source = new IPEndPoint(new IPAddress(addresses[..16]), BinaryPrimitives.ReadUInt16BigEndian(addresses[32..34]));
                    break;
                case 1 or 2:
                    return ProxyHeaderStatus.Invalid;
                default:
                    // UNSPEC or UNIX: nothing usable as an IP address; keep the socket's.
                    break;
            }
        }
        header = new ProxyProtocolHeader(2, length, source);
        return ProxyHeaderStatus.Parsed;
    }

    private static bool TryParsePort(string text, out int port)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535 && text.Length <= 5;
}
