using System.Net;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.DirectoryStores;

/// <summary>
/// Issue 18: LDAP password checks go through the credential cache — a repeat of a good password binds nothing within
/// the cache lifetime, a refused password is never remembered and makes the next check bind again, and a change in the
/// directory counts at the latest after the lifetime. Binds are counted from slapd's own operation log.
/// </summary>
public sealed partial class LdapDirectoryTests
{
    private const string Carol = "carol@contoso.com";
    private static readonly string CarolDn = $"uid=carol,ou=People,{SlapdServer.Suffix}";

    [Fact]
    public async Task A_good_password_binds_once_per_cache_lifetime_and_a_refused_one_makes_the_next_check_bind_again()
    {
        await using var gateway = await StartGatewayAsync(new() { ["Gateway:Authentication:CredentialCacheLifetime"] = "00:10:00" });
        using var client = gateway.CreateClient();
        var start = await CarolBindsAsync();
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, Carol, "pw-carol"));
        Assert.Equal(start + 1, await CarolBindsAsync());
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, Carol, "pw-carol"));
        }
        Assert.Equal(start + 1, await CarolBindsAsync());

        await SetCarolPasswordAsync("pw-carol-2");
        try
        {
            // Within the lifetime the directory is not asked: the remembered check still answers for the old password.
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, Carol, "pw-carol"));
            Assert.Equal(start + 1, await CarolBindsAsync());

            // A refused password binds (it is never remembered) and forgets carol's good check: the old password binds again, and is refused.
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, Carol, "pw-wrong"));
            Assert.Equal(start + 2, await CarolBindsAsync());
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, Carol, "pw-carol"));
            Assert.Equal(start + 3, await CarolBindsAsync());

            // The new password binds once and is remembered.
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, Carol, "pw-carol-2"));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, Carol, "pw-carol-2"));
            Assert.Equal(start + 4, await CarolBindsAsync());
        }
        finally
        {
            await SetCarolPasswordAsync("pw-carol");
        }
    }

    [Fact]
    public async Task An_account_disabled_in_the_directory_is_refused_once_the_cache_lifetime_has_passed()
    {
        await using var gateway = await StartGatewayAsync(new() { ["Gateway:Authentication:CredentialCacheLifetime"] = "00:00:01" });
        using var client = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, Carol, "pw-carol"));
        var change = $"dn: {CarolDn}\nchangetype: modify\ndelete: userPassword\n";
        await Store.Primary.ModifyAsync(change);
        await Store.Secondary.ModifyAsync(change);
        try
        {
            var refused = await RequestPath.RequestPathTests.PollAsync(() => StatusAsync(client, Carol, "pw-carol"), s => s == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.Unauthorized, refused);
        }
        finally
        {
            await SetCarolPasswordAsync("pw-carol");
        }
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, Carol, "pw-carol"));
    }

    private async Task SetCarolPasswordAsync(string password)
    {
        var change = $"dn: {CarolDn}\nchangetype: modify\nreplace: userPassword\nuserPassword: {password}\n";
        await Store.Primary.ModifyAsync(change);
        await Store.Secondary.ModifyAsync(change);
    }

    /// <summary>
    /// Binds as carol both servers have logged, counted once a fence bind made after every earlier request has been
    /// logged too (slapd logs in order; the log is read asynchronously).
    /// </summary>
    private async Task<int> CarolBindsAsync()
    {
        var count = 0;
        foreach (var server in new[] { Store.Primary, Store.Secondary })
        {
            var fence = $"cn=fence-{Guid.NewGuid():N},{SlapdServer.Suffix}";
            await ExternalProgram.RunAsync("/usr/bin/ldapwhoami", ["-x", "-H", server.LdapUrl, "-D", fence, "-w", "fence"], check: false);
            await ExternalProgram.WaitUntilAsync(() => Task.FromResult(server.Binds.Contains(fence)), TimeSpan.FromSeconds(10), "slapd's log of the fence bind");
            count += server.Binds.Count(dn => string.Equals(dn, CarolDn, StringComparison.OrdinalIgnoreCase));
        }
        return count;
    }
}
