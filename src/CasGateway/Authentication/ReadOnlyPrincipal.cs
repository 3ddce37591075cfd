using System.Security.Claims;

namespace CasGateway.Authentication;

/// <summary>
/// A principal that cannot be changed after it is built (adding or removing claims or identities throws), for
/// <see cref="AuthenticatedUser.SharedPrincipal"/>: many requests of one user see the same instance.
/// </summary>
internal sealed class ReadOnlyPrincipal : ClaimsPrincipal
{
    private ReadOnlyPrincipal(ClaimsIdentity identity)
        : base(identity)
    {
    }

    /// <summary>The gateway's claims for <paramref name="user"/> (those of <see cref="PasswordSignIn.PrincipalOf"/>), read-only.</summary>
    public static ReadOnlyPrincipal Of(AuthenticatedUser user, string method)
        => new(new ReadOnlyIdentity(PasswordSignIn.ClaimsOf(user), method));

    public override void AddIdentity(ClaimsIdentity identity) => throw Shared();

    public override void AddIdentities(IEnumerable<ClaimsIdentity> identities) => throw Shared();

    private static InvalidOperationException Shared() => new("This principal is shared by the requests of one signed-in user and cannot be changed.");

    private sealed class ReadOnlyIdentity(IEnumerable<Claim> claims, string authenticationType) : ClaimsIdentity(claims, authenticationType)
    {
        public override void AddClaim(Claim claim) => throw Shared();

        public override void AddClaims(IEnumerable<Claim?> claims) => throw Shared();

        public override void RemoveClaim(Claim? claim) => throw Shared();

        public override bool TryRemoveClaim(Claim? claim) => false;
    }
}
