using CasGateway.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CasGateway.Tests.Pipeline;

/// <summary>The gateway in-process on TestServer (no sockets in front), forwarding to real loopback backends.</summary>
public sealed class GatewayFactory(IDictionary<string, string?> settings) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.ConfigureServices(services => services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, InProcessHostLifetime>());
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public static GatewayFactory For(TestTopology topology) => new(topology.GatewaySettings());
}
