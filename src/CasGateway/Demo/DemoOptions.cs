namespace CasGateway.Demo;

/// <summary><c>Gateway:Demo</c>: the embedded default for a first run.</summary>
public sealed class DemoOptions
{
    public const string Section = "Gateway:Demo";

    /// <summary>
    /// Start a demo mailbox server for every directory server whose backend URL is on loopback, and generate the
    /// demo keys and certificates (backend TLS, gateway client certificate, identity signing key) where the
    /// configuration names none. Production configurations turn this off.
    /// </summary>
    public bool Enabled { get; set; }
}
