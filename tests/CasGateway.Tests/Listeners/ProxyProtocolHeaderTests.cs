using System.Buffers;
using System.Net;
using System.Text;
using CasGateway.Listeners;

namespace CasGateway.Tests.Listeners;

public sealed class ProxyProtocolHeaderTests
{
    private static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    [Theory]
    [InlineData("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n", "192.0.2.10", 56324)]
    [InlineData("PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n", "2001:db8::7", 40000)]
    public void Parses_v1_addresses(string line, string client, int port)
    {
        var status = Parse(Encoding.ASCII.GetBytes(line + "\x16\x03\x01"), out var header);
        Assert.Equal(ProxyHeaderStatus.Parsed, status);
        Assert.Equal(1, header.Version);
        Assert.Equal(line.Length, header.Length);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(client), port), header.Source);
    }

    [Fact]
    public void V1_unknown_keeps_the_socket_address()
    {
        Assert.Equal(ProxyHeaderStatus.Parsed, Parse("PROXY UNKNOWN\r\n"u8.ToArray(), out var header));
        Assert.Null(header.Source);
        Assert.Equal(15, header.Length);
    }

    [Theory]
    [InlineData("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\n")]
    [InlineData("PROXY TCP4 2001:db8::7 198.51.100.1 56324 443\r\n")]
    [InlineData("PROXY TCP6 192.0.2.10 198.51.100.1 56324 443\r\n")]
    [InlineData("PROXY TCP4 192.0.2.10 198.51.100.1 65536 443\r\n")]
    [InlineData("PROXY TCP4 192.0.2.10 198.51.100.1 -1 443\r\n")]
    [InlineData("PROXY TCP4 192.0.2.10 198.51.100.1 56324\r\n")]
    [InlineData("PROXY UDP4 192.0.2.10 198.51.100.1 56324 443\r\n")]
    public void Rejects_malformed_v1(string line)
    {
        // The first case has no CRLF at all: invalid once the 107-byte limit passes without one.
        var bytes = Encoding.ASCII.GetBytes(line.PadRight(120, 'x'));
        Assert.Equal(ProxyHeaderStatus.Invalid, Parse(bytes, out _));
    }

    [Fact]
    public void V1_waits_for_the_rest_of_the_line()
    {
        Assert.Equal(ProxyHeaderStatus.NeedMoreData, Parse("PROXY TCP4 192.0.2.10 198."u8.ToArray(), out _));
        Assert.Equal(ProxyHeaderStatus.NeedMoreData, Parse("PRO"u8.ToArray(), out _));
    }

    [Fact]
    public void Parses_v2_ipv4_and_skips_tlvs()
    {
        var addresses = new byte[] { 192, 0, 2, 10, 198, 51, 100, 1, 0xDC, 0x04, 0x01, 0xBB };
        var tlv = new byte[] { 0x04, 0x00, 0x02, 0xAA, 0xBB };
        var bytes = V2(command: 0x21, family: 0x11, [.. addresses, .. tlv]);
        Assert.Equal(ProxyHeaderStatus.Parsed, Parse([.. bytes, 0x16, 0x03], out var header));
        Assert.Equal(2, header.Version);
        Assert.Equal(bytes.Length, header.Length);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 56324), header.Source);
    }

    [Fact]
    public void Parses_v2_ipv6()
    {
        var source = IPAddress.Parse("2001:db8::7").GetAddressBytes();
        var destination = IPAddress.Parse("2001:db8::1").GetAddressBytes();
        var bytes = V2(command: 0x21, family: 0x21, [.. source, .. destination, 0x9C, 0x40, 0x01, 0xBB]);
        Assert.Equal(ProxyHeaderStatus.Parsed, Parse(bytes, out var header));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::7"), 40000), header.Source);
    }

    [Fact]
    public void V2_local_command_is_the_balancer_itself()
    {
        Assert.Equal(ProxyHeaderStatus.Parsed, Parse(V2(command: 0x20, family: 0x00, []), out var header));
        Assert.Null(header.Source);
        Assert.Equal(16, header.Length);
    }

    [Theory]
    [InlineData(0x11, 0x11, 12)]
    [InlineData(0x22, 0x11, 12)]
    [InlineData(0x21, 0x11, 8)]
    [InlineData(0x21, 0x21, 12)]
    public void Rejects_malformed_v2(byte command, byte family, int addressLength)
    {
        Assert.Equal(ProxyHeaderStatus.Invalid, Parse(V2(command, family, new byte[addressLength]), out _));
    }

    [Fact]
    public void Rejects_an_oversized_v2_header_before_it_arrives()
    {
        byte[] bytes = [.. V2Signature, 0x21, 0x11, 0xFF, 0xFF];
        Assert.Equal(ProxyHeaderStatus.Invalid, Parse(bytes, out _));
    }

    [Fact]
    public void V2_waits_for_the_announced_length_across_segments()
    {
        var bytes = V2(command: 0x21, family: 0x11, new byte[12]);
        Assert.Equal(ProxyHeaderStatus.NeedMoreData, Parse(bytes[..20], out _));
        Assert.Equal(ProxyHeaderStatus.NeedMoreData, Parse(bytes[..7], out _));
        Assert.Equal(ProxyHeaderStatus.Parsed, ParseSegmented(bytes, 5));
    }

    [Theory]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x02, 0x00 })]
    [InlineData(new byte[] { (byte)'G', (byte)'E', (byte)'T', (byte)' ' })]
    [InlineData(new byte[] { (byte)'P', (byte)'O', (byte)'S', (byte)'T' })]
    [InlineData(new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x01 })]
    public void Anything_else_is_not_proxy(byte[] bytes)
    {
        Assert.Equal(ProxyHeaderStatus.NotProxy, Parse(bytes, out _));
    }

    private static ProxyHeaderStatus Parse(byte[] bytes, out ProxyProtocolHeader header)
        => ProxyProtocolHeader.TryParse(new ReadOnlySequence<byte>(bytes), out header);

    private static ProxyHeaderStatus ParseSegmented(byte[] bytes, int segmentSize)
    {
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i < bytes.Length; i += segmentSize)
        {
            var chunk = bytes.AsMemory(i, Math.Min(segmentSize, bytes.Length - i));
            last = last is null ? first = new Segment(chunk, 0) : last.Append(chunk);
        }
        return ProxyProtocolHeader.TryParse(new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length), out _);
    }

    private static byte[] V2(byte command, byte family, byte[] addresses)
        => [.. V2Signature, command, family, (byte)(addresses.Length >> 8), (byte)addresses.Length, .. addresses];

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
