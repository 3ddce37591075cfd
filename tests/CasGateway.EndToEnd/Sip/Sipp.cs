using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security;

namespace CasGateway.EndToEnd.Sip;

/// <summary>
/// Debian's SIPp (<c>sip-tester</c>) as the calling VoIP gateway: each run writes a small UAC scenario into a temp
/// folder and runs one call (<c>-m 1</c>) over UDP or TCP, with <c>-trace_msg</c> and <c>-trace_logs</c> (the scenario's
/// <c>&lt;log&gt;</c> actions); SIPp's exit code says whether the
/// call went as the scenario expects (0) or not.
/// </summary>
internal static class Sipp
{
    /// <summary>
    /// An INVITE for <paramref name="service"/> that expects <paramref name="status"/> (a <c>Contact</c> matching
    /// <paramref name="contactPattern"/> when given), then ACKs it and waits briefly for anything unexpected.
    /// </summary>
    public static string Invite(int status, string? contactPattern = null, string extraHeaders = "")
    {
        var check = contactPattern is null
            ? ""
            : $"""
                <action>
                  <ereg regexp="{SecurityElement.Escape(contactPattern)}" search_in="hdr" header="Contact:" check_it="true" assign_to="contact"/>
                </action>
              """;
        return $$"""
            <?xml version="1.0" encoding="ISO-8859-1" ?>
            <scenario name="casgateway-invite">
              <send>
                <![CDATA[
            INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
            Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
            From: "PSTN gateway" <sip:gateway@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
            To: <sip:[service]@[remote_ip]:[remote_port]>
            Call-ID: [call_id]
            CSeq: 1 INVITE
            Contact: <sip:gateway@[local_ip]:[local_port];transport=[transport]>
            Max-Forwards: 70
            {{extraHeaders}}Content-Length: 0

            ]]>
              </send>
              <recv response="100" optional="true"/>
              <recv response="{{status}}">
            {{check}}
              </recv>
              {{(contactPattern is null ? "" : "<Reference variables=\"contact\"/>")}}
              <send>
                <![CDATA[
            ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
            Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
            From: "PSTN gateway" <sip:gateway@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
            [last_To:]
            Call-ID: [call_id]
            CSeq: 1 ACK
            Max-Forwards: 70
            Content-Length: 0

            ]]>
              </send>
              <pause milliseconds="200"/>
            </scenario>
            """;
    }

    /// <summary>An OPTIONS keep-alive expecting <paramref name="status"/> (with <c>Allow</c> listing INVITE when 200).</summary>
    public static string Options(int status)
    {
        var check = status == 200
            ? """<action><ereg regexp="INVITE" search_in="hdr" header="Allow:" check_it="true" assign_to="allow"/></action>"""
            : "";
        return $$"""
            <?xml version="1.0" encoding="ISO-8859-1" ?>
            <scenario name="casgateway-options">
              <send>
                <![CDATA[
            OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
            Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
            From: <sip:gateway@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
            To: <sip:[remote_ip]:[remote_port]>
            Call-ID: [call_id]
            CSeq: 1 OPTIONS
            Max-Forwards: 70
            Content-Length: 0

            ]]>
              </send>
              <recv response="{{status}}">{{check}}</recv>
              {{(status == 200 ? "<Reference variables=\"allow\"/>" : "")}}
            </scenario>
            """;
    }

    /// <summary>Runs one call of <paramref name="scenario"/> against <paramref name="target"/>; returns SIPp's exit code and what it logged.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string scenario, IPEndPoint target, bool tcp, string service = "4501", string localAddress = "127.0.0.1")
    {
        var folder = Path.Combine(Path.GetTempPath(), "casgw-sipp-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            var file = Path.Combine(folder, "scenario.xml");
            await File.WriteAllTextAsync(file, scenario);
            var start = new ProcessStartInfo("sipp")
            {
                WorkingDirectory = folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var arg in (string[])["-sf", file, "-m", "1", "-t", tcp ? "t1" : "u1", "-s", service, "-i", localAddress,
                "-p", FreePort(localAddress, tcp).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "-timeout", "15s", "-timeout_error", "-recv_timeout", "5000", "-nostdin", "-trace_msg", "-trace_err", "-trace_logs",
                $"{target.Address}:{target.Port}"])
            {
                start.ArgumentList.Add(arg);
            }
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            var logs = string.Concat(Directory.GetFiles(folder, "*.log").Select(f => $"--- {Path.GetFileName(f)}\n{File.ReadAllText(f)}"));
            return (process.ExitCode, $"{await stderr}\n{logs}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int FreePort(string address, bool tcp)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, tcp ? SocketType.Stream : SocketType.Dgram, tcp ? ProtocolType.Tcp : ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
