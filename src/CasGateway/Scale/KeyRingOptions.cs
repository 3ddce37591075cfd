using System.ComponentModel.DataAnnotations;
using CasGateway.Forwarding;

namespace CasGateway.Scale;

/// <summary>Where the Data Protection keys live.</summary>
public enum KeyRingKind
{
    /// <summary>This node's data folder (<c>DataPath/keys</c>): cookies are readable by this node only.</summary>
    Local,

    /// <summary>A folder every node mounts (<see cref="KeyRingOptions.Path"/>).</summary>
    Directory,

    /// <summary>The Redis server in <c>Gateway:Redis</c>.</summary>
    Redis,
}

/// <summary>
/// <c>Gateway:KeyRing</c>: the ASP.NET Core Data Protection key ring that protects the backend cookie (and every
/// other cookie the gateway issues). Nodes that share it, and <see cref="ApplicationName"/>, read each other's cookies.
/// </summary>
public sealed class KeyRingOptions
{
    public const string Section = "Gateway:KeyRing";

    public KeyRingKind Kind { get; set; } = KeyRingKind.Local;

    /// <summary>For <c>Directory</c>: the shared folder, relative to the content root.</summary>
    public string? Path { get; set; }

    /// <summary>The Data Protection application name; the same on every node that shares the ring.</summary>
    [RegularExpression("^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "ApplicationName must be 1-64 letters, digits, '.', '_' or '-'.")]
    public string ApplicationName { get; set; } = "CasGateway";

    /// <summary>For <c>Redis</c>: the key holding the ring (after <c>Gateway:Redis:KeyPrefix</c>).</summary>
    [RegularExpression("^[A-Za-z0-9:_-]{1,64}$", ErrorMessage = "RedisKey must be 1-64 letters, digits, ':', '_' or '-'.")]
    public string RedisKey { get; set; } = "data-protection-keys";

    /// <summary>Encrypts keys at rest (required for <c>Directory</c> and <c>Redis</c>: the ring leaves this machine).</summary>
    public ClientCertificateOptions? Certificate { get; set; }

    /// <summary>Certificates that protected older keys: still used to read them during a rotation.</summary>
    public List<ClientCertificateOptions> PreviousCertificates { get; set; } = [];
}
