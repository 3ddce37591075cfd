using System.Globalization;
using System.Net.Sockets;
using System.Text;
using CasGateway.Mail.Core;

namespace CasGateway.Mail.Smtp;

/// <summary>
/// The gateway's side of opening an SMTP session on a mailbox server's transport on a client's behalf: greeting,
/// <c>EHLO</c> as the gateway, <c>STARTTLS</c> when configured, then Postfix's <c>XCLIENT</c> with the client's
/// address and (submission) the user it authenticated, and <c>EHLO</c> again with the name the client gave, as the
/// server now treats the session as the client's own. A server that offers the gateway no XCLIENT can take inbound
/// mail (it then sees the gateway's address) but no submission (it would not know who is sending).
/// </summary>
public sealed class SmtpBackendDialect(string gatewayName, string clientHelo, string? login) : IMailBackendDialect
{
    public MailProtocol Protocol => MailProtocol.Smtp;

    public async Task<string> LoginAsync(BackendConnection backend, BackendCredentials credentials, CancellationToken cancellationToken)
    {
        var greeting = await SmtpReply.ReadAsync(backend, cancellationToken);
        Expect(greeting, 220, "greeting");
        var ehlo = await CommandAsync(backend, "EHLO " + gatewayName, 250, cancellationToken);
        if (credentials.StartTls is { } tls)
        {
            await CommandAsync(backend, "STARTTLS", 220, cancellationToken);
            await backend.UpgradeToTlsAsync(tls, cancellationToken);
            ehlo = await CommandAsync(backend, "EHLO " + gatewayName, 250, cancellationToken);
        }
        var xclient = ehlo.Extensions.FirstOrDefault(e => e == "XCLIENT" || e.StartsWith("XCLIENT ", StringComparison.Ordinal));
        if (xclient is null)
        {
            return login is null
                ? greeting.Summary
                : throw new BackendLoginException("it offers the gateway no XCLIENT (list the gateways in Postfix's smtpd_authorized_xclient_hosts)");
        }
        var offered = xclient.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToHashSet(StringComparer.Ordinal);
        var attributes = new List<string>();
        if (credentials.Client is { } client)
        {
            var address = client.AddressFamily == AddressFamily.InterNetworkV6 ? "IPV6:" + client.Address : client.Address.ToString();
            attributes.Add("ADDR=" + XText(address));
            attributes.Add("PORT=" + client.Port.ToString(CultureInfo.InvariantCulture));
            // The gateway does no reverse lookup: the server must not take the address's name from it.
            attributes.Add("NAME=[UNAVAILABLE]");
        }
        if (login is not null)
        {
            attributes.Add("LOGIN=" + XText(login));
        }
        attributes.RemoveAll(a => !offered.Contains(a[..a.IndexOf('=')]));
        if (login is not null && !attributes.Any(a => a.StartsWith("LOGIN=", StringComparison.Ordinal)))
        {
            throw new BackendLoginException("its XCLIENT does not take LOGIN");
        }
        if (attributes.Count > 0)
        {
            // XCLIENT resets the session: the server greets again and expects a new EHLO.
            await CommandAsync(backend, "XCLIENT " + string.Join(' ', attributes), 220, cancellationToken);
            await CommandAsync(backend, "EHLO " + clientHelo, 250, cancellationToken);
        }
        return greeting.Summary;
    }

    private static async Task<SmtpReply> CommandAsync(BackendConnection backend, string command, int expected, CancellationToken cancellationToken)
    {
        await backend.WriteLineAsync(command, cancellationToken);
        var reply = await SmtpReply.ReadAsync(backend, cancellationToken);
        Expect(reply, expected, command.Split(' ')[0]);
        return reply;
    }

    private static void Expect(SmtpReply reply, int code, string step)
    {
        if (reply.Code != code)
        {
            throw new BackendLoginException($"the server answered {step} with '{reply.Summary}'");
        }
    }

    /// <summary>RFC 3461 xtext, as XCLIENT attribute values are encoded: <c>+</c>, <c>=</c> and non-printables as <c>+HH</c>.</summary>
    private static string XText(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= 33 and <= 126 and not (byte)'+' and not (byte)'=')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"+{b:X2}");
            }
        }
        return text.ToString();
    }
}
