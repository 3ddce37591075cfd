using CasGateway.Mail;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// For test classes whose tests each start their own deployment (with their own settings) in front of the class's
/// Dovecot pair: every deployment a test started is stopped when it ends, its logs written to the test output.
/// </summary>
public abstract class MailDeploymentsPerTest(DovecotPair dovecot, ITestOutputHelper output) : IClassFixture<DovecotPair>, IAsyncLifetime
{
    private readonly List<MailDeployment> _deployments = [];

    protected DovecotPair Dovecot => dovecot;

    protected ITestOutputHelper Output => output;

    /// <summary>Nothing by default: each test starts what it needs; a class whose tests share one set-up overrides this.</summary>
    public virtual Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var deployment in _deployments)
        {
            deployment.WriteLogs(output);
        }
        await TestSupport.Cleanup.DisposeAllAsync([.. _deployments]);
    }

    protected async Task<MailDeployment> StartDeploymentAsync(
        MailBackendTls backendTls, IDictionary<string, string?>? overrides = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var deployment = await MailDeployment.StartAsync(dovecot, backendTls, overrides, services: services);
        _deployments.Add(deployment);
        return deployment;
    }
}
