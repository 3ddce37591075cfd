using System.Net.Sockets;
using CasGateway.Observability;
using Serilog.Events;
using Serilog.Parsing;

namespace CasGateway.Tests.Observability;

/// <summary>Issue 16: a refused health probe (the demo's first, before its servers listen) is one log line, not a stack trace.</summary>
public sealed class ProbeFailureLinesTests
{
    private const string Template = "Probing destination `{destinationId}` on cluster `{clusterId}` failed.";

    [Fact]
    public void A_refused_connection_becomes_one_line_with_the_reason()
    {
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:8444)", new SocketException((int)SocketError.ConnectionRefused));
        var shortened = ProbeFailureLines.Shorten(Event(Template, refused));
        Assert.Null(shortened.Exception);
        Assert.Equal(LogEventLevel.Warning, shortened.Level);
        Assert.Equal(new ScalarValue("Connection refused (127.0.0.1:8444)"), shortened.Properties["Reason"]);
        Assert.Equal(Template + " {Reason}", shortened.MessageTemplate.Text);
        Assert.Equal(new ScalarValue("mbx1"), shortened.Properties["destinationId"]);
    }

    [Theory]
    [InlineData(Template, HttpRequestError.Unknown)]
    [InlineData("Something else failed.", HttpRequestError.ConnectionError)]
    public void Other_failures_keep_their_exception(string template, HttpRequestError error)
    {
        var exception = new HttpRequestException(error, "boom");
        Assert.Same(exception, ProbeFailureLines.Shorten(Event(template, exception)).Exception);
    }

    private static LogEvent Event(string template, Exception exception)
        => new(DateTimeOffset.UtcNow, LogEventLevel.Warning, exception, new MessageTemplateParser().Parse(template),
            [new LogEventProperty("destinationId", new ScalarValue("mbx1")), new LogEventProperty("clusterId", new ScalarValue("mailbox-servers"))]);
}
