using CasGateway.Observability;
using CasGateway.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace CasGateway.Tests.Observability;

/// <summary>The reloadable Serilog pipeline: settings follow the configuration, bad settings never stop logging.</summary>
public sealed class LogPipelineTests : IDisposable
{
    private readonly CapturingLogSink _sink = new();
    private readonly MemoryConfigurationProvider _settings;
    private readonly IConfigurationRoot _configuration;
    private readonly ServiceProvider _services;
    private readonly LogPipeline _pipeline;

    public LogPipelineTests()
    {
        _configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Information" })
            .Build();
        _settings = _configuration.Providers.OfType<MemoryConfigurationProvider>().Single();
        _services = new ServiceCollection().AddSingleton<ILogEventSink>(_sink).BuildServiceProvider();
        _pipeline = new LogPipeline(_configuration, _services);
    }

    public void Dispose()
    {
        _pipeline.Dispose();
        _services.Dispose();
    }

    private void Change(string key, string value)
    {
        _settings.Set(key, value);
        _configuration.Reload();
    }

    private bool Logged(string message) => _sink.Events.Any(e => e.MessageTemplate.Text == message);

    [Fact]
    public void Level_change_applies_to_loggers_created_before_it()
    {
        var logger = _pipeline.Logger.ForContext("SourceContext", "CasGateway.Test");
        logger.Information("before");
        Change("Serilog:MinimumLevel:Default", "Warning");
        logger.Information("hidden");
        logger.Warning("shown");
        Change("Serilog:MinimumLevel:Override:CasGateway.Test", "Debug");
        logger.Debug("debug for this source");

        Assert.True(Logged("before"));
        Assert.False(Logged("hidden"));
        Assert.True(Logged("shown"));
        Assert.True(Logged("debug for this source"));
    }

    [Fact]
    public void Invalid_settings_are_reported_and_the_previous_ones_stay_in_force()
    {
        Change("Serilog:MinimumLevel:Default", "Warning");
        Change("Serilog:MinimumLevel:Default", "Loudest");
        _pipeline.Logger.Information("hidden");
        _pipeline.Logger.Warning("still logging");

        var report = Assert.Single(_sink.Events, e => e.Level == LogEventLevel.Error);
        Assert.Contains("previous logging settings stay in force", report.RenderMessage(), StringComparison.Ordinal);
        Assert.NotNull(report.Exception);
        Assert.False(Logged("hidden"));
        Assert.True(Logged("still logging"));

        // Fixing the section applies the fix.
        Change("Serilog:MinimumLevel:Default", "Information");
        _pipeline.Logger.Information("after the fix");
        Assert.True(Logged("after the fix"));
    }

    [Fact]
    public void Unrelated_configuration_changes_leave_the_logger_alone()
    {
        var before = _sink.Events.Count;
        Change("Gateway:NodeName", "elsewhere.contoso.com");
        _pipeline.Logger.Information("one");
        Assert.Equal(before + 1, _sink.Events.Count);
    }

    [Fact]
    public void The_logger_factory_keeps_one_logger_per_category_and_it_follows_reloads()
    {
        using var factory = new GatewayLoggerFactory(new Serilog.Extensions.Logging.SerilogLoggerFactory(_pipeline.Logger), tracing: false);
        var logger = factory.CreateLogger("CasGateway.Test");

        Assert.Same(logger, factory.CreateLogger("CasGateway.Test"));
        Assert.NotSame(logger, factory.CreateLogger("CasGateway.Other"));
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "cached before");
        Change("Serilog:MinimumLevel:Default", "Warning");
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "cached hidden");
        Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger, "cached shown");

        Assert.True(Logged("cached before"));
        Assert.False(Logged("cached hidden"));
        Assert.True(Logged("cached shown"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_hosting_logger_reports_disabled_only_when_not_tracing(bool tracing)
    {
        using var factory = new GatewayLoggerFactory(new Serilog.Extensions.Logging.SerilogLoggerFactory(_pipeline.Logger), tracing);
        var hosting = factory.CreateLogger(GatewayLoggerFactory.HostingCategory);

        Assert.Equal(tracing, hosting.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Critical));
        // What it is given without asking first is still written.
        Microsoft.Extensions.Logging.LoggerExtensions.LogError(hosting, "host error");
        Assert.True(Logged("host error"));
    }
}
