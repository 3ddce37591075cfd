using System.Net.Http.Json;
using CasGateway.DemoBackend;

namespace CasGateway.TestSupport;

public static class DemoAnswers
{
    /// <summary>Reads a demo backend's JSON answer, failing the test with the body when the status is not 200.</summary>
    public static async Task<DemoAnswer> ReadAnswerAsync(this HttpResponseMessage response)
    {
        if (response.StatusCode != System.Net.HttpStatusCode.OK)
        {
            throw new Xunit.Sdk.XunitException($"Expected 200, got {(int)response.StatusCode} ({response.Headers.WwwAuthenticate}): {await response.Content.ReadAsStringAsync()}");
        }
        return (await response.Content.ReadFromJsonAsync<DemoAnswer>(DemoAnswer.JsonOptions))!;
    }
}
