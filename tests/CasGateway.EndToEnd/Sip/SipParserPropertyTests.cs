using System.Text;
using CasGateway.Sip;

namespace CasGateway.EndToEnd.Sip;

/// <summary>
/// The parser against random and mutated messages (a fixed seed, a bounded count): it never throws, never accepts
/// control characters or over-limit messages, and what it accepts can always be answered.
/// </summary>
public sealed class SipParserPropertyTests
{
    private static readonly SipLimits Limits = new(8192, 64, 2048);

    private static readonly string[] Names =
        ["Via", "v", "From", "f", "Diversion", "History-Info", "Diversion", "To", "t", "Call-ID", "i", "CSeq", "Contact", "m", "Max-Forwards", "Content-Length", "l", "Diversion", "History-Info", "X-Junk", "Bad Name", ""];

    private static readonly string[] Pieces =
        ["sip:4501@127.0.0.1", "<sip:alice@contoso.com>;tag=1", "1 INVITE", "70", "0", "12", "-1", "99999999", "SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1",
         "\"quoted, name\" <tel:+1-425>", "<sip:+1425;user=phone@h>;index=1", "sip:4501@h;user=phone", "<sips:a@[::1]:5061>", "tel:", "sip:@", "<", "\0", "\r", "\n", "\u00e9", "\t", " ", ",", ";", "<", ">", "%00"];

    private static readonly string[] Uris =
        ["tel:+1-425-555-4501", "sip:alice@contoso.com", "sips:x@[::1]:5061;transport=tls", "<garbage>", "sip:+1(425)@h;user=phone", "tel:;x", "sip:a@b@c", "x"];

    [Fact]
    public void Random_messages_never_crash_the_parser_and_what_it_accepts_is_answerable()
    {
        var random = new Random(20);
        var accepted = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = i % 4 == 0 ? RandomBytes(random) : Encoding.UTF8.GetBytes(RandomMessage(random));
            var headLength = SipParser.HeaderSectionLength(bytes);
            var head = headLength < 0 ? bytes : bytes[..headLength];
            var result = SipParser.Parse(head, i % 2 == 0 ? bytes.Length - head.Length : null, Limits);
            if (result.Status == SipParseStatus.Request)
            {
                accepted++;
                Assert.True(result.Request.CanAnswer);
                Assert.True(head.Length + result.Request.ContentLength <= Limits.MaxMessageSize);
                Assert.DoesNotContain(result.Request.Headers, h => h.Value.Any(c => c is '\r' or '\n' or '\0'));
                var response = SipResponse.Build(result.Request, new SipAnswer(302, "Moved Temporarily") { Contact = "<sip:1@h>" }, SipTransport.Udp,
                    new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 5060));
                var text = Encoding.UTF8.GetString(response);
                // The called-party reader takes the same hostile input: it may find nothing, but never throws or over-reaches.
                Assert.InRange(SipAddresses.CalledParties(result.Request).Count, 0, SipAddresses.MaxCandidates);
                _ = SipAddresses.DialledUser(result.Request.RequestUri);
                Assert.EndsWith("Content-Length: 0\r\n\r\n", text);
                Assert.DoesNotContain("\r\n\r\n", text[..^4]);
            }
        }
        // The generator makes enough valid requests for the acceptance checks to mean something.
        Assert.InRange(accepted, 100, 20_000);
    }

    [Fact]
    public void Limits_hold()
    {
        var many = "OPTIONS sip:h SIP/2.0\r\n" + string.Concat(Enumerable.Range(0, 70).Select(n => $"X-{n}: v\r\n")) + "\r\n";
        Assert.Equal(SipParseStatus.TooLarge, SipParser.Parse(Encoding.UTF8.GetBytes(many), 0, Limits).Status);
        var longLine = "OPTIONS sip:h SIP/2.0\r\nVia: " + new string('a', 3000) + "\r\n\r\n";
        Assert.Equal(SipParseStatus.TooLarge, SipParser.Parse(Encoding.UTF8.GetBytes(longLine), 0, Limits).Status);
        var bigBody = "OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9000\r\n\r\n";
        var parsed = SipParser.Parse(Encoding.UTF8.GetBytes(bigBody), null, Limits);
        Assert.Equal(SipParseStatus.TooLarge, parsed.Status);
        Assert.True(parsed.Request.CanAnswer);
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 600)];
        random.NextBytes(bytes);
        if (random.Next(2) == 0 && bytes.Length > 8)
        {
            "\r\n\r\n"u8.CopyTo(bytes.AsSpan(random.Next(bytes.Length - 4)));
        }
        return bytes;
    }

    private static string RandomMessage(Random random)
    {
        var method = random.Next(6) switch { 0 => "OPTIONS", 1 => "ACK", 2 => "REGISTER", 3 => "IN VITE", _ => "INVITE" };
        var uri = random.Next(4) switch
        {
            0 => Uris[random.Next(Uris.Length)],
            _ => $"sip:{random.Next(10000)}@127.0.0.1",
        };
        var text = new StringBuilder($"{method} {uri} SIP/2.0\r\n");
        var valid = random.Next(3) > 0;
        if (valid)
        {
            text.Append("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK").Append(random.Next()).Append("\r\n")
                .Append("From: <sip:a@h>;tag=x\r\nTo: <sip:b@h>\r\nCall-ID: ").Append(random.Next()).Append("\r\nCSeq: ").Append(random.Next(1000))
                .Append(' ').Append(method).Append("\r\n");
        }
        for (var h = random.Next(0, 12); h > 0; h--)
        {
            var value = string.Concat(Enumerable.Range(0, random.Next(0, 4)).Select(_ => Pieces[random.Next(Pieces.Length)]));
            text.Append(Names[random.Next(Names.Length)]).Append(random.Next(8) == 0 ? " : " : ": ").Append(value).Append("\r\n");
        }
        var body = new string('b', random.Next(0, 40));
        if (random.Next(3) > 0)
        {
            text.Append("Content-Length: ").Append(random.Next(4) == 0 ? random.Next(100) : body.Length).Append("\r\n");
        }
        text.Append("\r\n").Append(body);
        var message = text.ToString();
        if (random.Next(5) == 0 && message.Length > 0)
        {
            // A mutation: one character replaced by anything.
            var at = random.Next(message.Length);
            message = message[..at] + (char)random.Next(0, 0x250) + message[(at + 1)..];
        }
        return message;
    }
}
