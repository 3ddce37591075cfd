using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CasGateway.Configuration;
using CasGateway.EndToEnd.Health;
using CasGateway.TestSupport;
using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace CasGateway.EndToEnd.Deploy;

/// <summary>
/// Issue 22: what in deploy/ can be checked on this machine is checked with the tool that will read it — HAProxy's
/// own parser, systemd's verifier, Prometheus's rule checker and rule unit tests, kustomize's renderer (the rendered
/// objects then read for the settings that make nodes interchangeable) — and every metric the dashboard and the
/// alert rules query is present in a real scrape of a running gateway.
/// </summary>
public sealed partial class DeployFolderTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "deploy");

    [Fact]
    public void Haproxy_accepts_the_vm_balancer_configuration()
    {
        var (code, output) = Run("haproxy", "-c", "-f", Path.Combine(Deploy, "haproxy", "haproxy.cfg"));
        Assert.True(code == 0, output);
        Assert.Contains("Configuration file is valid", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Systemd_verifies_the_unit_without_a_warning()
    {
        var folder = Directory.CreateTempSubdirectory("casgw-unit-").FullName;
        try
        {
            var unit = Path.Combine(folder, "casgateway.service");
            File.Copy(Path.Combine(Deploy, "systemd", "casgateway.service"), unit);
            var (code, output) = Run("systemd-analyze", "verify", unit);
            Assert.True(code == 0, output);
            Assert.DoesNotContain("casgateway.service:", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The image's HEALTHCHECK: the gateway binary's own <c>probe</c> command against the management port.</summary>
    [Fact]
    public async Task The_probe_command_exits_0_on_a_live_node_and_1_when_nothing_answers()
    {
        await using var topology = await TestTopology.StartAsync();
        var settings = topology.GatewaySettings();
        settings["Gateway:Health:ManagementPort"] = "0";
        var output = new StringWriter();
        var error = new StringWriter();
        string healthz;
        await using (var gateway = await TestGateway.StartAsync(topology, settings))
        {
            healthz = new Uri(gateway.ManagementAddress(), "/healthz").ToString();
            Assert.Equal(0, GatewayCommands.TryRun(["probe", healthz], TextReader.Null, output, error));
            Assert.Equal("200 OK", output.ToString().Trim());
        }

        Assert.Equal(1, GatewayCommands.TryRun(["probe", healthz], TextReader.Null, output, error));
        Assert.Contains(healthz, error.ToString(), StringComparison.Ordinal);
        Assert.Equal(GatewayCommands.Invalid, GatewayCommands.TryRun(["probe", "ftp://127.0.0.1/"], TextReader.Null, output, error));
    }

    [Fact]
    public void Prometheus_accepts_the_alert_rules_and_their_unit_tests_pass()
    {
        var monitoring = Path.Combine(Deploy, "monitoring");
        var (checkCode, checkOutput) = Run("promtool", "check", "rules", Path.Combine(monitoring, "alerts.yml"));
        Assert.True(checkCode == 0, checkOutput);
        var (testCode, testOutput) = Run("promtool", "test", "rules", Path.Combine(monitoring, "alerts.test.yml"));
        Assert.True(testCode == 0, testOutput);
        Assert.Contains("SUCCESS", testOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void The_production_overlay_renders_three_interchangeable_hardened_pods()
    {
        var (code, rendered) = Run("kubectl", "kustomize", Path.Combine(Deploy, "kubernetes", "overlays", "production"));
        Assert.True(code == 0, rendered);
        var objects = new YamlStream();
        objects.Load(new StringReader(rendered));
        var byKind = objects.Documents.Select(d => (YamlMappingNode)d.RootNode).ToLookup(n => Scalar(n, "kind"));

        var deployment = byKind["Deployment"].Single(d => Scalar(d, "metadata", "name") == "casgateway");
        Assert.Equal("casgateway", Scalar(deployment, "metadata", "namespace"));
        Assert.Equal("3", Scalar(deployment, "spec", "replicas"));
        var pod = Node(deployment, "spec", "template", "spec");
        Assert.Equal("kubernetes.io/hostname", Scalar(Sequence(pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution")[0], "podAffinityTerm", "topologyKey"));
        Assert.Equal("true", Scalar(pod, "securityContext", "runAsNonRoot"));
        var container = Sequence(pod, "containers").Single();
        Assert.Equal("registry.contoso.com/casgateway:1.0", Scalar(container, "image"));
        Assert.Equal("true", Scalar(container, "securityContext", "readOnlyRootFilesystem"));
        Assert.Equal("false", Scalar(container, "securityContext", "allowPrivilegeEscalation"));
        Assert.Equal("/readyz", Scalar(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/healthz", Scalar(container, "livenessProbe", "httpGet", "path"));
        var ports = Sequence(container, "ports").ToDictionary(p => Scalar(p, "name"), p => Scalar(p, "containerPort"));
        Assert.Equal("management", Scalar(container, "readinessProbe", "httpGet", "port"));
        Assert.Equal("management", Scalar(container, "livenessProbe", "httpGet", "port"));
        Assert.NotNull(Node(container, "lifecycle", "preStop"));

        // The pod's settings, as the gateway reads them: the shipped appsettings.json, the ConfigMap's file, then the
        // environment; secrets referenced from the environment get a well-formed stand-in of the kind they hold.
        var environment = Sequence(container, "env").ToDictionary(e => Scalar(e, "name"), e => ((YamlMappingNode)e).Children.ContainsKey(new YamlScalarNode("value")) ? Scalar(e, "value") : null);
        var secrets = environment.Where(e => e.Key.StartsWith("Gateway__", StringComparison.Ordinal) && (e.Value is null || e.Value.Contains("$(", StringComparison.Ordinal)))
            .ToDictionary(e => e.Key.Replace("__", ":", StringComparison.Ordinal), e => (string?)SecretStandIn(e.Key));
        var configMap = byKind["ConfigMap"].Single(c => Scalar(c, "metadata", "name").StartsWith("casgateway-config-", StringComparison.Ordinal));
        var settingsFile = Path.Combine(Path.GetTempPath(), "casgw-deploy-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(settingsFile, Scalar(configMap, "data", "appsettings.Production.json"));
        IConfiguration settings;
        try
        {
            settings = new ConfigurationBuilder()
                .AddJsonFile(Path.Combine(RepositoryRoot(), "src", "CasGateway", "appsettings.json"))
                .AddJsonFile(settingsFile)
                .AddInMemoryCollection(secrets)
                .Build();
        }
        finally
        {
            File.Delete(settingsFile);
        }
        Assert.Empty(GatewayConfiguration.Check(settings));
        Assert.False(settings.GetValue<bool>("Gateway:Demo:Enabled"));
        Assert.Equal(ports["management"], settings["Gateway:Health:ManagementPort"]);
        Assert.Equal(ports["https"], settings["Gateway:Listeners:HttpsPort"]);
        Assert.Equal(ports["imaps"], settings["Gateway:Mail:Imap:ImplicitTlsPort"]);
        Assert.Equal(ports["pop3s"], settings["Gateway:Mail:Pop:ImplicitTlsPort"]);
        // Interchangeable nodes: the key ring is shared through the Redis the base deploys.
        Assert.Equal("Redis", settings["Gateway:KeyRing:Kind"]);
        Assert.StartsWith("casgateway-redis:6379,", settings["Gateway:Redis:Configuration"], StringComparison.Ordinal);
        Assert.Contains(byKind["Service"], s => Scalar(s, "metadata", "name") == "casgateway-redis");

        // SIGTERM drains for DrainGracePeriod, then in-flight requests get ShutdownTimeout: Kubernetes must wait longer.
        var drain = TimeSpan.Parse(settings["Gateway:Health:DrainGracePeriod"]!, System.Globalization.CultureInfo.InvariantCulture)
            + TimeSpan.Parse(settings["Gateway:Health:ShutdownTimeout"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(int.Parse(Scalar(pod, "terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture) > drain.TotalSeconds + 2);

        var service = byKind["Service"].Single(d => Scalar(d, "metadata", "name") == "casgateway");
        Assert.Equal("Local", Scalar(service, "spec", "externalTrafficPolicy"));
        var servicePorts = Sequence(service, "spec", "ports").ToDictionary(p => Scalar(p, "port"), p => Scalar(p, "targetPort"));
        Assert.Equal(new Dictionary<string, string> { ["443"] = "https", ["993"] = "imaps", ["995"] = "pop3s" }, servicePorts);

        var budget = Assert.Single(byKind["PodDisruptionBudget"]);
        Assert.Equal("1", Scalar(budget, "spec", "maxUnavailable"));
        var autoscaler = Assert.Single(byKind["HorizontalPodAutoscaler"]);
        Assert.Equal("3", Scalar(autoscaler, "spec", "minReplicas"));
        Assert.Equal("cpu", Scalar(Sequence(autoscaler, "spec", "metrics")[0], "resource", "name"));
    }

    [Fact]
    public async Task Every_metric_the_dashboard_and_the_alerts_query_is_in_a_real_scrape()
    {
        var monitoring = Path.Combine(Deploy, "monitoring");
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(monitoring, "grafana-dashboard.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .Concat(AlertExpression().Matches(File.ReadAllText(Path.Combine(monitoring, "alerts.yml"))).Select(m => m.Groups[1].Value))
            .ToList();
        var queried = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("casgateway_requests_total", queried);

        await using var topology = await TestTopology.StartAsync();
        Func<CountingLocator> locator = null!;
        await using var gateway = await TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["Gateway:Health:AdminUsers:0"] = "alice@contoso.com",
            ["Gateway:Backend:Health:ActiveEnabled"] = "false",
            // Every location is past its time-to-live at once: served stale while the locator is down.
            ["Gateway:Locator:Cache:TimeToLive"] = "00:00:00",
            ["Gateway:Throttling:Families:Ews:RequestsPerWindow"] = "1",
            ["Gateway:Throttling:Families:Ews:Window"] = "00:10:00",
            ["Gateway:Authentication:FailedLogins:Account:BackoffAfter"] = "1",
            ["Gateway:Authentication:FailedLogins:Account:LockoutAfter"] = "2",
            ["Gateway:Authentication:FailedLogins:BackoffBase"] = "00:00:00.200",
            ["Gateway:Authentication:FailedLogins:BackoffMax"] = "00:00:00.200",
        }, services => locator = CountingLocator.Install(services));
        using var client = gateway.CreateClient();
        var alice = TestGateway.Basic(topology.Directory.Mailbox("alice@contoso.com"));
        var bob = TestGateway.Basic(topology.Directory.Mailbox("bob@contoso.com"));

        // Real traffic for every series: a proxied request, a refusal, a component drained by an admin, and a
        // stopped mailbox server whose circuit opens after the requests that fail over to its database's other copy.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, HttpMethod.Get, "/owa/", alice)).StatusCode);
        using (var ghost = new HttpRequestMessage(HttpMethod.Get, "/owa/") { Headers = { Authorization = alice } })
        {
            ghost.Headers.Add("X-AnchorMailbox", "nobody@contoso.com");
            Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(ghost)).StatusCode);
        }
        using (var drain = new HttpRequestMessage(HttpMethod.Put, "/admin/components/EcpProxy") { Headers = { Authorization = alice } })
        {
            drain.Content = JsonContent.Create(new { state = "Draining", requester = "Maintenance", reason = "deploy test" });
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(drain)).StatusCode);
        }
        await topology.StopServerAsync("mbx2.contoso.com");
        for (var i = 0; i < 8; i++)
        {
            await SendAsync(client, HttpMethod.Get, "/owa/", bob);
        }
        // A user over the throttling budget, and a password guesser who is backed off, then locked out.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, HttpMethod.Get, "/EWS/Exchange.asmx", alice)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await SendAsync(client, HttpMethod.Get, "/EWS/Exchange.asmx", alice)).StatusCode);
        var guesser = TestGateway.Basic("carol@contoso.com", "guess");
        await HealthTestKit.EventuallyAsync(async () =>
        {
            await SendAsync(client, HttpMethod.Get, "/owa/", guesser);
            var logins = PrometheusText.Parse(await client.GetStringAsync("/metrics"));
            return logins.Has("casgateway_login_failures_total") && logins.Has("casgateway_login_refusals_total") && logins.Has("casgateway_login_lockouts_total");
        }, TimeSpan.FromSeconds(15), "a failed login, a refused one and a lockout");
        // The directory down: alice's known location is served stale.
        locator().Unavailable = true;
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, HttpMethod.Get, "/owa/", alice)).StatusCode);

        var missing = queried.ToHashSet(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        var scrape = PrometheusText.Parse("");
        while (missing.Count > 0 && DateTime.UtcNow < deadline)
        {
            scrape = PrometheusText.Parse(await client.GetStringAsync("/metrics"));
            missing.RemoveWhere(name => scrape.Has(name));
            if (missing.Count > 0)
            {
                await Task.Delay(200);
            }
        }
        Assert.True(missing.Count == 0, "queried but never exposed: " + string.Join(", ", missing));
        Assert.Equal(1, scrape.Sum("casgateway_component_state", ("component", "Ecp")));
        Assert.Equal(2, scrape.Sum("casgateway_component_state", ("component", "ServerWideOffline")));
        Assert.Equal(1, scrape.Sum("casgateway_refusals_total", ("status", "404"), ("code", "MailboxNotFound")));
        Assert.Equal(1, scrape.Sum("casgateway_refusals_total", ("status", "429"), ("code", "Throttled")));
        Assert.Equal(1, scrape.Sum("casgateway_locator_stale_answers_total"));
    }

    [Fact]
    public void Every_dashboard_panel_has_a_place_on_the_grid_and_a_unique_id()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "monitoring", "grafana-dashboard.json")));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.All(panels, p =>
        {
            var grid = p.GetProperty("gridPos");
            Assert.All(new[] { "x", "y", "w", "h" }, key => Assert.Equal(JsonValueKind.Number, grid.GetProperty(key).ValueKind));
            Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
        });
    }

    private static string SecretStandIn(string variable) => variable switch
    {
        "Gateway__Redis__Configuration" => "casgateway-redis:6379,password=stand-in",
        "Gateway__Mail__Backend__MasterPassword" => "stand-in",
        _ => throw new InvalidOperationException($"No stand-in for the secret in {variable}: say in this test what it holds."),
    };

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, System.Net.Http.Headers.AuthenticationHeaderValue authorization)
    {
        using var request = new HttpRequestMessage(method, path) { Headers = { Authorization = authorization } };
        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>Metric names in a PromQL expression: identifiers followed by a label set.</summary>
    [GeneratedRegex(@"\b[a-z_][a-z0-9_]*(?=\{)")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"expr: \|?\s*((?:.|\n)*?)\n\s+for:")]
    private static partial Regex AlertExpression();

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CasGateway.sln")))
            {
                return folder.FullName;
            }
        }
        throw new InvalidOperationException("CasGateway.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within 60 s");
        }
        return (process.ExitCode, output.Result + error.Result);
    }

    private static YamlNode Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }
        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value!;

    private static IList<YamlNode> Sequence(YamlNode node, params string[] path) => ((YamlSequenceNode)Node(node, path)).Children;
}
