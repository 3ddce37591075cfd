using System.ComponentModel.DataAnnotations;

namespace CasGateway.Scale;

/// <summary>
/// <c>Gateway:Redis</c>: the Redis server that several gateway nodes share for the Data Protection key ring
/// (<c>Gateway:KeyRing:Kind = Redis</c>) and for limit counters. Absent = nothing is shared through Redis.
/// </summary>
public sealed class RedisOptions
{
    public const string Section = "Gateway:Redis";

    /// <summary>StackExchange.Redis configuration string, e.g. <c>redis:6379,password=…,ssl=true</c>.</summary>
    public string? Configuration { get; set; }

    /// <summary>Bound on connecting and on each command; a slower Redis counts as unreachable.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Prefix of every key the gateway writes, so several deployments can share one Redis.</summary>
    [RegularExpression("^[A-Za-z0-9:_-]{1,64}$", ErrorMessage = "KeyPrefix must be 1-64 letters, digits, ':', '_' or '-'.")]
    public string KeyPrefix { get; set; } = "casgw:";
}
