using CasGateway.Authentication;

namespace CasGateway.Tests.Authentication;

public sealed class PasswordHashTests
{
    [Fact]
    public void Verifies_the_right_password_only()
    {
        var hash = PasswordHash.Create("s3cret!", 10_000);
        Assert.StartsWith("pbkdf2-sha256$10000$", hash, StringComparison.Ordinal);
        Assert.True(PasswordHash.Verify("s3cret!", hash));
        Assert.False(PasswordHash.Verify("s3cret", hash));
        Assert.False(PasswordHash.Verify("", hash));
    }

    [Fact]
    public void Same_password_gets_different_salts()
    {
        Assert.NotEqual(PasswordHash.Create("x", 10_000), PasswordHash.Create("x", 10_000));
    }

    [Theory]
    [InlineData("plain-text-password")]
    [InlineData("pbkdf2-sha256$100$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("pbkdf2-sha1$210000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("pbkdf2-sha256$210000$not base64$AAAAAAAAAAAAAAAAAAAAAA==")]
    public void Rejects_malformed_or_weak_hashes(string encoded)
    {
        Assert.False(PasswordHash.IsWellFormed(encoded));
        Assert.False(PasswordHash.Verify("anything", encoded));
    }
}
