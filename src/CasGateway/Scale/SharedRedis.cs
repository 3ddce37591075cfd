using CasGateway.Configuration;
using StackExchange.Redis;

namespace CasGateway.Scale;

/// <summary>
/// The one connection to <c>Gateway:Redis</c> that the key ring and the shared limits use. It connects on first
/// use and never fails start-up: a node whose Redis is down still starts and serves (limits fall back to local).
/// </summary>
public sealed class SharedRedis(RedisOptions options) : IAsyncDisposable
{
    private readonly Lazy<ConnectionMultiplexer> _connection = new(() => ConnectionMultiplexer.Connect(Configure(options)));

    public IDatabase Database => _connection.Value.GetDatabase();

    public RedisKey Key(string name) => options.KeyPrefix + name;

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await _connection.Value.DisposeAsync();
        }
    }

    private static ConfigurationOptions Configure(RedisOptions options)
    {
        var configuration = ConfigurationOptions.Parse(options.Configuration!);
        var timeout = (int)options.Timeout.TotalMilliseconds;
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = timeout;
        configuration.SyncTimeout = timeout;
        configuration.AsyncTimeout = timeout;
        configuration.ConnectRetry = 1;
        // While disconnected, fail at once instead of queueing: callers fall back to local state without waiting.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        return configuration;
    }
}

public static class SharedRedisRegistration
{
    /// <summary>Registers (once) and returns the shared Redis connection of <c>Gateway:Redis</c>.</summary>
    public static SharedRedis AddSharedRedis(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.FirstOrDefault(s => s.ServiceType == typeof(Registered))?.ImplementationInstance is Registered existing)
        {
            return existing.Redis;
        }
        services.AddValidatedOptions<RedisOptions>(RedisOptions.Section);
        var redis = new SharedRedis(configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new());
        services.AddSingleton(new Registered(redis));
        // A factory registration, so the container disposes the connection with the host.
        services.AddSingleton(_ => redis);
        return redis;
    }

    private sealed record Registered(SharedRedis Redis);
}
