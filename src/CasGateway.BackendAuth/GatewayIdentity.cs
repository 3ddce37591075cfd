using System.Text.Json.Serialization;

namespace CasGateway.BackendAuth;

/// <summary>
/// The caller's identity as the gateway hands it to a mailbox backend. <see cref="Audience"/> is the FQDN of the
/// one server the token is for; <see cref="TargetMailbox"/> the primary address of the mailbox the request is for
/// (empty when the request names a server, not a mailbox). Both are signed.
/// </summary>
public sealed record GatewayIdentity(
    string User,
    string PrimarySmtpAddress,
    Guid MailboxGuid,
    string AuthenticationMethod,
    string ClientIp,
    string GatewayNode,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string Audience = "",
    string TargetMailbox = "")
{
    /// <summary>The caller acts on a mailbox other than its own (delegate, shared mailbox, explicit logon): the backend's own authorization decides.</summary>
    [JsonIgnore]
    public bool ActsOnOtherMailbox => TargetMailbox.Length > 0 && !TargetMailbox.Equals(PrimarySmtpAddress, StringComparison.OrdinalIgnoreCase);

    /// <summary>The caller is the owner of the target mailbox (or the request names no mailbox).</summary>
    [JsonIgnore]
    public bool IsOwner => !ActsOnOtherMailbox;
}
