namespace CasGateway.BackendAuth;

/// <summary>The caller's identity as the gateway hands it to a mailbox backend.</summary>
public sealed record GatewayIdentity(
    string User,
    string PrimarySmtpAddress,
    Guid MailboxGuid,
    string AuthenticationMethod,
    string ClientIp,
    string GatewayNode,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt);
