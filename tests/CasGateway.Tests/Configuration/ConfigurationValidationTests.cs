using Microsoft.Extensions.Configuration;
using CasGateway.Configuration;

namespace CasGateway.Tests.Configuration;

/// <summary>Issue 11: every kind of mistake is reported with its key path, the bad value (secrets masked) and what is allowed.</summary>
public sealed class ConfigurationValidationTests : IDisposable
{
    private const string Key = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
    private readonly string _folder = Directory.CreateTempSubdirectory("casgw-config-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>mistake, the Gateway JSON fragment (merged into a valid file), a line the report must contain.</summary>
    public static TheoryData<string, string, string> Mistakes() => new()
    {
        { "typo in a section name", "\"Listners\": { \"HttpsPort\": 1 }", "Gateway:Listners: unknown setting; did you mean 'Listeners'?" },
        { "typo in a setting name", "\"Backend\": { \"MaxConnectionPerServer\": 5, \"Identity\": { \"SigningKey\": \"" + Key + "\" } }", "Gateway:Backend:MaxConnectionPerServer: unknown setting; did you mean 'MaxConnectionsPerServer'?" },
        { "port out of range", "\"Listeners\": { \"HttpsPort\": 70000 }", "Gateway:Listeners:HttpsPort = \"70000\": must be between 0 and 65535." },
        { "number that is not a number", "\"Backend\": { \"MaxConnectionsPerServer\": \"lots\", \"Identity\": { \"SigningKey\": \"" + Key + "\" } }", "Gateway:Backend:MaxConnectionsPerServer = \"lots\": not a whole number." },
        { "zero connections", "\"Backend\": { \"MaxConnectionsPerServer\": 0, \"Identity\": { \"SigningKey\": \"" + Key + "\" } }", "Gateway:Backend:MaxConnectionsPerServer = \"0\": must be between 1 and 10000." },
        { "duration in words", "\"Backend\": { \"ConnectTimeout\": \"5 seconds\", \"Identity\": { \"SigningKey\": \"" + Key + "\" } }", "Gateway:Backend:ConnectTimeout = \"5 seconds\": not a duration such as 00:00:30." },
        { "duration out of range", "\"Locator\": { \"Cache\": { \"TimeToLive\": \"2.00:00:00\" } }", "Gateway:Locator:Cache:TimeToLive = \"2.00:00:00\": must be between 00:00:00 and 1.00:00:00." },
        { "boolean as a word", "\"Authentication\": { \"BasicEnabled\": \"maybe\" }", "Gateway:Authentication:BasicEnabled = \"maybe\": not true or false." },
        { "quote in the realm", "\"Authentication\": { \"Realm\": \"bad\\\"realm\" }", "Gateway:Authentication:Realm = \"bad\"realm\": Realm must be 1-64 characters without quotes, backslashes or line breaks." },
        { "unknown locator", "\"Locator\": { \"Kind\": \"ActiveDirectory\" }", "Gateway:Locator:Kind = \"ActiveDirectory\": must be one of File, Ldap, Sql." },
        { "LDAP without servers", "\"Locator\": { \"Kind\": \"Ldap\" }", "Gateway:Locator:Ldap:Servers: required when Gateway:Locator:Kind is Ldap" },
        { "LDAP without TLS", "\"Locator\": { \"Kind\": \"Ldap\", \"Ldap\": { \"Servers\": [ \"dc1.contoso.com:389\" ] } }", "Gateway:Locator:Ldap:Servers:0 = \"dc1.contoso.com:389\": must be ldaps://host[:port] or ldap://host[:port] (StartTLS)." },
        { "LDAP without service password", "\"Locator\": { \"Kind\": \"Ldap\" }", "Gateway:Locator:Ldap:BindPassword: required (an empty password would be an anonymous bind)." },
        { "LDAP filter without parentheses", "\"Locator\": { \"Kind\": \"Ldap\", \"Ldap\": { \"MailboxFilter\": \"objectClass=user\" } }", "Gateway:Locator:Ldap:MailboxFilter = \"objectClass=user\": not an LDAP filter in parentheses" },
        { "LDAP server table URL", "\"Locator\": { \"Kind\": \"Ldap\", \"Ldap\": { \"MailboxServers\": { \"mbx1.contoso.com\": { \"BackendUrl\": \"mbx1:444\" } } } }", "Gateway:Locator:Ldap:MailboxServers:mbx1.contoso.com:BackendUrl = \"mbx1:444\": not an absolute http(s) URL." },
        { "LDAP server table UM endpoint without port", "\"Locator\": { \"Kind\": \"Ldap\", \"Ldap\": { \"MailboxServers\": { \"mbx1.contoso.com\": { \"UmEndpoint\": \"mbx1.contoso.com\" } } } }", "Gateway:Locator:Ldap:MailboxServers:mbx1.contoso.com:UmEndpoint: 'mbx1.contoso.com' is not host:port." },
        { "LDAP settings ignored for another kind", "\"Locator\": { \"Kind\": \"Sql\", \"Ldap\": { \"Servers\": [ ] } }", "Gateway:Locator:Sql:ConnectionString: required when Gateway:Locator:Kind is Sql" },
        { "unknown SQL engine", "\"Locator\": { \"Sql\": { \"Provider\": \"Oracle\" } }", "Gateway:Locator:Sql:Provider = \"Oracle\": must be one of Sqlite, PostgreSql." },
        { "SQLite without a file", "\"Locator\": { \"Kind\": \"Sql\", \"Sql\": { \"ConnectionString\": \"Cache=Shared\" } }", "Gateway:Locator:Sql:ConnectionString: the Sqlite connection string names no Data Source." },
        { "short legacy signing key, masked", "\"Backend\": { \"Identity\": { \"Algorithm\": \"HmacSha256\", \"SigningKey\": \"c2hvcnQ=\" } }", "Gateway:Backend:Identity:SigningKey = \"***\": must be base64 of at least 32 bytes." },
        { "missing identity key outside demo", "\"Demo\": { \"Enabled\": false }", "Gateway:Backend:Identity:PrivateKeyPath: required" },
        { "missing legacy signing key outside demo", "\"Demo\": { \"Enabled\": false }, \"Backend\": { \"Identity\": { \"Algorithm\": \"HmacSha256\" } }", "Gateway:Backend:Identity:SigningKey: required" },
        { "HMAC key without the legacy algorithm", "\"Backend\": { \"Identity\": { \"SigningKey\": \"" + Key + "\" } }", "Gateway:Backend:Identity:SigningKey = \"***\": only used with Gateway:Backend:Identity:Algorithm = HmacSha256" },
        { "unknown signing algorithm", "\"Backend\": { \"Identity\": { \"Algorithm\": \"RSA\" } }", "Gateway:Backend:Identity:Algorithm = \"RSA\"" },
        { "password shown masked", "\"Listeners\": { \"Certificates\": [ { \"Path\": \"c.pfx\", \"Password\": 42, \"HostNames\": \"x\" } ] }", "Gateway:Listeners:Certificates:0:HostNames = \"x\": expected a list (JSON array), found a single value." },
        { "certificate without path", "\"Listeners\": { \"Certificates\": [ { \"KeyPath\": \"k.pem\" } ] }", "Gateway:Listeners:Certificates:0:Path: required." },
        { "cookie name with spaces", "\"BackendCookie\": { \"Name\": \"my cookie\" }", "Gateway:BackendCookie:Name = \"my cookie\": Name must be a plain cookie name." },
        { "unknown family in a site URL", "\"Routing\": { \"Sites\": { \"Paris\": { \"ExternalUrls\": { \"Smtp\": \"https://x/\" } } } }", "Gateway:Routing:Sites:Paris:ExternalUrls:Smtp: 'Smtp' is not one of Owa, Ecp, Ews, ActiveSync, Mapi, Rpc, Autodiscover, Oab, PowerShell." },
        { "health path without slash", "\"Backend\": { \"Health\": { \"ActivePath\": \"healthcheck.htm\" }, \"Identity\": { \"SigningKey\": \"" + Key + "\" } }", "Gateway:Backend:Health:ActivePath = \"healthcheck.htm\": ActivePath must start with '/'." },
        { "retries out of range", "\"Backend\": { \"Retry\": { \"MaxRetries\": 9 }, \"Identity\": { \"SigningKey\": \"" + Key + "\" } }", "Gateway:Backend:Retry:MaxRetries = \"9\": must be between 0 and 5." },
        { "listener address that is no address", "\"Listeners\": { \"Address\": \"nowhere\" }", "Gateway:Listeners:Address = \"nowhere\": must be Any, Loopback or an IP address" },
        { "scrape network that is no network", "\"Telemetry\": { \"ScrapeAllowedNetworks\": [ \"10.0.0.0/8\", \"10.0.0.0/33\" ] }", "Gateway:Telemetry:ScrapeAllowedNetworks:1 = \"10.0.0.0/33\": must be a network in CIDR form (e.g. 10.0.0.0/8)." },
        { "trusted proxy that is no address", "\"Listeners\": { \"TrustedProxies\": [ \"proxy.contoso.com\" ] }", "Gateway:Listeners:TrustedProxies:0 = \"proxy.contoso.com\": must be an IP address or a CIDR network" },
        { "PROXY header timeout too long", "\"Listeners\": { \"ProxyProtocol\": { \"HeaderTimeout\": \"00:05:00\" } }", "Gateway:Listeners:ProxyProtocol:HeaderTimeout = \"00:05:00\": must be between 00:00:00.1 and 00:01:00." },
        { "admin thumbprint too short", "\"Health\": { \"AdminCertificateThumbprints\": [ \"ABCD\" ] }", "Gateway:Health:AdminCertificateThumbprints:0 = \"ABCD\": must be a SHA-256 thumbprint (64 hex digits)." },
        { "unknown component", "\"Health\": { \"Components\": { \"Webmail\": { \"Maintenance\": \"Inactive\" } } }", "Gateway:Health:Components:Webmail: not a component" },
        { "mail listener without master login", "\"Mail\": { \"Imap\": { \"ImplicitTlsPort\": 993 } }", "Gateway:Mail:Backend:MasterPassword: required when an IMAP or POP3 listener is enabled." },
        { "OTLP endpoint not http", "\"Telemetry\": { \"OtlpEndpoint\": \"ftp://collector/\" }", "Gateway:Telemetry:OtlpEndpoint = \"ftp://collector/\": must be an absolute http(s) URL" },
        { "no way to authenticate", "\"Authentication\": { \"BasicEnabled\": false }", "Gateway:Authentication:BasicEnabled = \"false\": with AzureAd:ClientId unset no client could authenticate" },
        { "legacy namespace not a URL", "\"Routing\": { \"LegacyNamespace\": \"legacy.contoso.com\" }", "Gateway:Routing:LegacyNamespace = \"legacy.contoso.com\": must be an absolute http(s) URL." },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_mistake_is_reported_with_key_value_and_what_is_allowed(string mistake, string fragment, string expected)
    {
        var demo = fragment.Contains("\"Demo\"", StringComparison.Ordinal) ? "" : "\"Demo\": { \"Enabled\": true }, ";
        var (exit, output, error) = Validate("{ \"Gateway\": { " + demo + fragment + " } }");
        Assert.True(exit == 2, $"{mistake}: exit {exit}, {output}");
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("common")]
    [InlineData("organizations")]
    [InlineData("consumers")]
    [InlineData("contoso.onmicrosoft.com")]
    [InlineData("")]
    public void Bearer_tokens_need_one_tenant_named_by_its_guid(string tenant)
    {
        var (exit, _, error) = Validate("{ \"Gateway\": { \"Demo\": { \"Enabled\": true } }, \"AzureAd\": { \"Instance\": \"https://login.microsoftonline.com/\", "
            + "\"ClientId\": \"00000000-0000-0000-0000-000000000001\", \"TenantId\": \"" + tenant + "\" } }");
        Assert.Equal(2, exit);
        Assert.Contains("AzureAd:TenantId = ", error, StringComparison.Ordinal);
        Assert.Contains("the GUID of the one tenant whose tokens are accepted", error, StringComparison.Ordinal);

        var (valid, _, problems) = Validate("{ \"Gateway\": { \"Demo\": { \"Enabled\": true } }, \"AzureAd\": { \"Instance\": \"https://login.microsoftonline.com/\", "
            + "\"ClientId\": \"00000000-0000-0000-0000-000000000001\", \"TenantId\": \"" + Guid.NewGuid() + "\" } }");
        Assert.True(valid == 0, problems);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_not_just_the_first()
    {
        var (exit, _, error) = Validate("""
            { "Gateway": { "Demo": { "Enabled": true },
              "Listeners": { "HttpsPort": -1 }, "Authentication": { "BasicEnabled": "no way" },
              "Backend": { "ConnectTimeout": "soon" } },
              "ReverseProxy": { "Routes": { "r": { "Match": { "Path": "/x" }, "Metadata": { "Family": "Gopher" } } } } }
            """);
        Assert.Equal(2, exit);
        Assert.Contains("Configuration has 4 problem(s):", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Listeners:HttpsPort", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Authentication:BasicEnabled", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Backend:ConnectTimeout", error, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Routes:r:Metadata:Family = \"Gopher\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_that_does_not_convert_is_reported_once_and_the_section_rules_still_run()
    {
        var (exit, _, error) = Validate("""
            { "Gateway": { "Demo": { "Enabled": true },
              "Listeners": { "Address": "nowhere", "HttpsPort": "many" } } }
            """);
        Assert.Equal(2, exit);
        Assert.Contains("Configuration has 2 problem(s):", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Listeners:HttpsPort = \"many\": not a whole number.", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Listeners:Address = \"nowhere\": must be Any, Loopback or an IP address", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_never_appear_in_the_report()
    {
        var (_, _, error) = Validate("""{ "Gateway": { "Backend": { "Identity": { "SigningKey": "not-base64-secret!!" } }, "Listeners": { "Certificates": [ { "Path": "x.pfx", "Password": "hunter2" } ] }, "Listners": 1 } }""");
        Assert.DoesNotContain("not-base64-secret", error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
        Assert.Contains("\"***\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kind_reports_all_of_its_missing_settings_at_once()
    {
        var (exit, _, error) = Validate("""{ "Gateway": { "Demo": { "Enabled": true }, "Locator": { "Kind": "Ldap", "Ldap": { "BindPassword": "hunter2", "ServerFilter": "(x" } } } }""");
        Assert.Equal(2, exit);
        Assert.Contains("Configuration has 4 problem(s):", error, StringComparison.Ordinal);
        foreach (var key in (string[])["Ldap:Servers:", "Ldap:BindDn:", "Ldap:BaseDn:", "Ldap:ServerFilter = \"(x\""])
        {
            Assert.Contains("Gateway:Locator:" + key, error, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_directory_file_path_is_required_only_when_the_file_store_is_chosen()
    {
        var (exit, _, error) = Validate("""{ "Gateway": { "Demo": { "Enabled": true }, "Locator": { "Kind": "Sql", "File": { "Path": "" }, "Sql": { "ConnectionString": "Data Source=directory.db" } } } }""");
        Assert.True(exit == 0, error);
        (exit, _, error) = Validate("""{ "Gateway": { "Demo": { "Enabled": true }, "Locator": { "Kind": "File", "File": { "Path": " " } } } }""");
        Assert.Equal(2, exit);
        Assert.Contains("Gateway:Locator:File:Path: required when Gateway:Locator:Kind is File.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_json_is_reported_with_its_position()
    {
        var (exit, _, error) = Validate("{ \"Gateway\": { \"Listeners\": { \"HttpsPort\": 8443, } ");
        Assert.Equal(2, exit);
        Assert.Contains("cannot be used", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_appsettings_is_production_safe_demo_off_and_names_what_an_operator_must_set()
    {
        var (exit, _, error) = ValidateFile(Path.Combine(RepositoryRoot(), "src", "CasGateway", "appsettings.json"));
        Assert.Equal(2, exit);
        Assert.Contains("Configuration has 2 problem(s):", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Locator:File:Path", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Backend:Identity:PrivateKeyPath: required", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_appsettings_under_the_development_overlay_is_valid_and_runs_the_demo()
    {
        var folder = Path.Combine(RepositoryRoot(), "src", "CasGateway");
        var merged = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddJsonFile(Path.Combine(folder, "appsettings.json"))
            .AddJsonFile(Path.Combine(folder, "appsettings.Development.json"))
            .Build();
        Assert.Empty(GatewayConfiguration.Check(merged));
        Assert.Equal("True", merged["Gateway:Demo:Enabled"], ignoreCase: true);
        Assert.Equal("Demo/directory.json", merged["Gateway:Locator:File:Path"]);
        Assert.Equal("Loopback", merged["Gateway:Listeners:Address"]);
        var launch = File.ReadAllText(Path.Combine(folder, "Properties", "launchSettings.json"));
        Assert.Contains("\"ASPNETCORE_ENVIRONMENT\": \"Development\"", launch, StringComparison.Ordinal);
    }

    [Fact]
    public void The_checked_in_schema_matches_the_options_classes()
    {
        var checkedIn = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "CasGateway", ConfigurationSchema.FileName)).ReplaceLineEndings("\n");
        Assert.True(checkedIn == ConfigurationSchema.Generate(),
            "appsettings.schema.json is out of date: run `dotnet run --no-launch-profile --project src/CasGateway -- schema > src/CasGateway/appsettings.schema.json`");
    }

    [Fact]
    public void The_schema_describes_every_section_and_its_limits()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(ConfigurationSchema.Generate());
        var backend = schema.RootElement.GetProperty("properties").GetProperty("Gateway").GetProperty("properties").GetProperty("Backend").GetProperty("properties");
        var max = backend.GetProperty("MaxConnectionsPerServer");
        Assert.Equal(1, max.GetProperty("minimum").GetDouble());
        Assert.Equal(10000, max.GetProperty("maximum").GetDouble());
        Assert.True(backend.GetProperty("Retry").GetProperty("properties").TryGetProperty("MaxBufferedBodyBytes", out _));
    }

    private (int Exit, string Output, string Error) Validate(string json)
    {
        var file = Path.Combine(_folder, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(file, json);
        return ValidateFile(file);
    }

    private static (int Exit, string Output, string Error) ValidateFile(string file)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = GatewayCommands.TryRun(["validate", file], TextReader.Null, output, error);
        return (exit!.Value, output.ToString(), error.ToString());
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CasGateway.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("CasGateway.sln not found above " + AppContext.BaseDirectory);
    }
}
