using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CasGateway.EndToEnd.Authentication;

/// <summary>Clients that connect from a chosen loopback address (127.0.0.x), so one test can play several sources.</summary>
public static class LoginSources
{
    /// <summary>
    /// Small limits so back-off and lockout happen within a test: account back-off after 2 failures (0.5 s, then 1 s),
    /// lockout after 4 for 5 s — long enough that a busy test machine still sees each state it asserts on.
    /// </summary>
    public static Dictionary<string, string?> SmallLimits() => new()
    {
        ["Gateway:Authentication:FailedLogins:Account:BackoffAfter"] = "2",
        ["Gateway:Authentication:FailedLogins:Account:LockoutAfter"] = "4",
        ["Gateway:Authentication:FailedLogins:Source:BackoffAfter"] = "200",
        ["Gateway:Authentication:FailedLogins:Source:LockoutAfter"] = "400",
        ["Gateway:Authentication:FailedLogins:BackoffBase"] = "00:00:00.500",
        ["Gateway:Authentication:FailedLogins:BackoffMax"] = "00:00:01",
        ["Gateway:Authentication:FailedLogins:LockoutDuration"] = "00:00:05",
    };

    /// <summary>An HTTPS client to <paramref name="baseAddress"/> whose connections come from <paramref name="from"/>, trusting exactly <paramref name="certificate"/>.</summary>
    public static HttpClient HttpClientFrom(IPAddress from, Uri baseAddress, X509Certificate2 certificate)
    {
        var expected = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    presented is not null && presented.GetCertHashString(HashAlgorithmName.SHA256) == expected,
            },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>GET /owa/ with Basic credentials.</summary>
    public static async Task<HttpResponseMessage> BasicGetAsync(this HttpClient client, string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user + ":" + password)));
        return await client.SendAsync(request);
    }

    /// <summary>Polls until <paramref name="done"/> holds, failing after <paramref name="within"/>.</summary>
    public static async Task<T> PollAsync<T>(Func<Task<T>> attempt, Func<T, bool> done, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var result = await attempt();
            if (done(result))
            {
                return result;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"{what}: not within {within}; last: {result}");
            }
            await Task.Delay(50);
        }
    }
}
