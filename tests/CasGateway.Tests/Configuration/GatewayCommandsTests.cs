using CasGateway.Authentication;
using CasGateway.Configuration;

namespace CasGateway.Tests.Configuration;

/// <summary>Issue 16: the <c>hash-password</c> command an admin uses to fill the directory file.</summary>
public sealed class GatewayCommandsTests
{
    [Fact]
    public void Hash_password_prints_a_hash_of_the_password_read_on_standard_input_and_never_the_password()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = GatewayCommands.TryRun(["hash-password"], new StringReader("correct horse battery staple\n"), output, error);

        Assert.Equal(0, exit);
        Assert.Empty(error.ToString());
        var hash = Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)).Trim();
        Assert.DoesNotContain("correct horse", hash, StringComparison.Ordinal);
        Assert.True(PasswordHash.IsWellFormed(hash), hash);
        Assert.True(PasswordHash.Verify("correct horse battery staple", hash));
        Assert.False(PasswordHash.Verify("correct horse battery stapler", hash));
    }

    [Fact]
    public void Hashing_the_same_password_twice_gives_two_different_salted_hashes()
    {
        string Hash()
        {
            using var output = new StringWriter();
            GatewayCommands.TryRun(["hash-password"], new StringReader("s3cret"), output, TextWriter.Null);
            return output.ToString().Trim();
        }
        var first = Hash();
        var second = Hash();
        Assert.NotEqual(first, second);
        Assert.True(PasswordHash.Verify("s3cret", first) && PasswordHash.Verify("s3cret", second));
    }
}
