using System.Net.Http.Json;
using CasGateway.Routing;

namespace CasGateway.TestSupport;

public static class Explain
{
    /// <summary>Asks the gateway's admin endpoint how it would route <paramref name="request"/> for <paramref name="user"/>.</summary>
    public static async Task<ExplainAnswer> ExplainAsync(this HttpClient client, HttpRequestMessage request, string user, TestMailbox admin)
    {
        var headers = request.Headers
            .Where(h => !h.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(h => h.Key, h => string.Join(",", h.Value));
        var url = new Uri(client.BaseAddress!, request.RequestUri!);
        if (request.Headers.Host is { } host)
        {
            url = new UriBuilder(url) { Host = host }.Uri;
        }
        using var message = new HttpRequestMessage(HttpMethod.Post, "/admin/explain")
        {
            Content = JsonContent.Create(new ExplainRequest(request.Method.Method, url.ToString(), headers, user)),
        };
        message.Headers.Authorization = TestGateway.Basic(admin);
        using var response = await client.SendAsync(message);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ExplainAnswer>())!;
    }
}
