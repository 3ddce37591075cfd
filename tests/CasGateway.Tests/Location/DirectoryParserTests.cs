using System.Text;
using CasGateway.Anchoring;
using CasGateway.Location;

namespace CasGateway.Tests.Location;

public sealed class DirectoryParserTests
{
    private const string Valid = """
        {
          "sites": [ { "name": "S1" } ],
          "servers": [
            { "fqdn": "mbx1.contoso.com", "site": "S1", "version": "15.2.1544.4", "backendUrl": "https://127.0.0.1:1/" },
            { "fqdn": "mbx2.contoso.com", "site": "S1", "version": "15.2.1544.4", "backendUrl": "https://127.0.0.1:2/" }
          ],
          "databases": [
            { "name": "DB01", "guid": "11111111-1111-1111-1111-111111111111",
              "copies": [ { "server": "mbx1.contoso.com", "active": false }, { "server": "mbx2.contoso.com", "active": true } ] }
          ],
          "mailboxes": [
            { "guid": "a1a1a1a1-0000-4000-8000-000000000001", "primarySmtpAddress": "alice@contoso.com",
              "aliases": [ "a.smith@contoso.com" ], "database": "DB01" }
          ]
        }
        """;

    private static DirectorySnapshot Parse(string json) => DirectoryParser.Parse("dir.json", Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Locates_by_address_alias_and_guid_to_the_active_copy()
    {
        var snapshot = Parse(Valid);
        foreach (var hint in new[] { "alice@contoso.com", "ALICE@contoso.com", "a.smith@contoso.com", "a1a1a1a1-0000-4000-8000-000000000001@contoso.com" })
        {
            Assert.True(AnchorMailbox.TryParse(hint, out var anchor));
            var location = snapshot.Locate(anchor.Value);
            Assert.NotNull(location);
            Assert.Equal("mbx2.contoso.com", location.Server!.Fqdn);
            Assert.Equal("DB01", location.Database!.Name);
        }
        Assert.True(AnchorMailbox.TryParse("nobody@contoso.com", out var unknown));
        Assert.Null(snapshot.Locate(unknown.Value));
    }

    [Fact]
    public void Syntax_error_names_file_line_and_path()
    {
        var error = Assert.Throws<DirectoryLoadException>(() => Parse("{\n \"sites\": [ { \"name\": \"S1\" } ],\n \"servers\": [ { \"fqdn\": 42 } ]\n}"));
        Assert.Contains("'dir.json'", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("$.servers[0].fqdn", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_property_is_an_error_not_silently_ignored()
    {
        var error = Assert.Throws<DirectoryLoadException>(() => Parse(Valid.Replace("\"sites\"", "\"sitez\"", StringComparison.Ordinal)));
        Assert.Contains("sitez", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"active\": true } ] }", "\"active\": false } ] }", "$.databases[0].copies: exactly one copy must be active, found 0")]
    [InlineData("\"database\": \"DB01\"", "\"database\": \"DB09\"", "$.mailboxes[0].database: 'DB09' is not one of the databases")]
    [InlineData("\"version\": \"15.2.1544.4\", \"backendUrl\": \"https://127.0.0.1:1/\"", "\"version\": \"fifteen\", \"backendUrl\": \"https://127.0.0.1:1/\"", "$.servers[0].version: 'fifteen'")]
    [InlineData("\"backendUrl\": \"https://127.0.0.1:1/\"", "\"backendUrl\": \"ftp://x/\"", "$.servers[0].backendUrl: 'ftp://x/'")]
    [InlineData("\"site\": \"S1\", \"version\": \"15.2.1544.4\", \"backendUrl\": \"https://127.0.0.1:2/\"", "\"site\": \"S9\", \"version\": \"15.2.1544.4\", \"backendUrl\": \"https://127.0.0.1:2/\"", "$.servers[1].site: 'S9'")]
    [InlineData("[ \"a.smith@contoso.com\" ]", "[ \"alice@contoso.com\" ]", "$.mailboxes[0].aliases[0]: 'alice@contoso.com' belongs to another mailbox too")]
    public void Inconsistencies_are_reported_with_their_path(string from, string to, string expected)
    {
        var error = Assert.Throws<DirectoryLoadException>(() => Parse(Valid.Replace(from, to, StringComparison.Ordinal)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>A file of <paramref name="count"/> mailboxes, one per line from line 6, in the order the format allows (mailboxes first).</summary>
    private static string Large(int count, Func<int, string> mailbox)
    {
        var lines = Enumerable.Range(0, count).Select(i => "    " + mailbox(i) + (i < count - 1 ? "," : ""));
        return "{\n  \"sites\": [ { \"name\": \"S1\" } ],\n  // mailboxes before their database\n  \"mailboxes\": [\n\n"
            + string.Join("\n", lines)
            + "\n  ],\n  \"servers\": [ { \"fqdn\": \"mbx1.contoso.com\", \"site\": \"S1\", \"version\": \"15.2.1544.4\", \"backendUrl\": \"https://127.0.0.1:1/\" } ],\n"
            + "  \"databases\": [ { \"name\": \"DB01\", \"guid\": \"11111111-1111-1111-1111-111111111111\", \"copies\": [ { \"server\": \"mbx1.contoso.com\", \"active\": true } ] } ]\n}\n";
    }

    private static string Plain(int i) => $$"""{ "guid": "{{Guid(i)}}", "primarySmtpAddress": "user{{i}}@contoso.com", "aliases": [], "database": "DB01", "displayName": "User {{i}}", "passwordHash": "{{Hash}}" }""";

    private static Guid Guid(int i) => new($"a1a1a1a1-0000-4000-8000-{i:D12}");

    private static readonly string Hash = CasGateway.Authentication.PasswordHash.Create("pw", 10_000);

    [Fact]
    public void A_file_larger_than_the_read_buffer_is_read_whole_in_any_section_order()
    {
        // 4,000 mailboxes (about 1 MB, several buffers): most in the common shape, some with parts only the serializer reads.
        var json = Large(4000, i => i % 97 == 0
            ? $$"""{ "Guid": "{{Guid(i)}}", "primarySmtpAddress": "user{{i}}@contoso.com", "aliases": [ "alias{{i}}@contoso.com" ], "database": "DB01", "objectId": "{{Guid(i + 100_000)}}" }"""
            : Plain(i));
        var snapshot = Parse(json);
        Assert.Equal(4000, snapshot.MailboxCount);
        for (var i = 0; i < 4000; i += 7)
        {
            Assert.True(AnchorMailbox.TryParse($"USER{i}@contoso.com", out var anchor));
            var location = snapshot.Locate(anchor.Value);
            Assert.NotNull(location);
            Assert.Equal(Guid(i), location.Mailbox.Guid);
            Assert.Equal("mbx1.contoso.com", location.Server!.Fqdn);
            Assert.Equal(i % 97 == 0 ? null : $"User {i}", location.Mailbox.DisplayName);
            Assert.Equal(i % 97 == 0 ? null : Hash, snapshot.PasswordHashOf(location.Mailbox));
        }
        Assert.Equal(Guid(97), snapshot.FindByAddress("alias97@contoso.com")!.Guid);
        Assert.Equal(Guid(194), snapshot.FindByObjectId(Guid(100_194))!.Guid);
        Assert.True(AnchorMailbox.TryParse($"{Guid(3999)}@contoso.com", out var byGuid));
        Assert.Equal("user3999@contoso.com", snapshot.FindMailbox(byGuid.Value)!.PrimarySmtpAddress);
        Assert.Equal(10_000, snapshot.UsualIterations);
    }

    [Fact]
    public void An_error_deep_in_a_large_file_names_its_line_and_mailbox()
    {
        var json = Large(4000, i => i == 3210 ? Plain(i).Replace($"\"{Guid(i)}\"", "42", StringComparison.Ordinal) : Plain(i));
        var error = Assert.Throws<DirectoryLoadException>(() => Parse(json));
        Assert.Contains("line 3216", error.Message, StringComparison.Ordinal);
        Assert.Contains("$.mailboxes[3210].guid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Checks_that_need_another_section_run_after_the_whole_file()
    {
        var json = Large(3000, i => i == 2999 ? Plain(i).Replace("DB01", "DB09", StringComparison.Ordinal) : i == 1500 ? Plain(i).Replace($"user{i}@", "user7@", StringComparison.Ordinal) : Plain(i));
        var error = Assert.Throws<DirectoryLoadException>(() => Parse(json));
        Assert.Contains("$.mailboxes[2999].database: 'DB09' is not one of the databases", error.Message, StringComparison.Ordinal);
        Assert.Contains("$.mailboxes[1500].primarySmtpAddress: 'user7@contoso.com' belongs to another mailbox too", error.Message, StringComparison.Ordinal);
        Assert.Contains("has 2 problem(s)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pbkdf2-sha256$210000$uP9mXFtg6uiL5bfK3v6GpQ==$g4rhXW01ztUFl74dESOwNvSOORFXOuB25nezGBS9kuU=")]
    [InlineData("pbkdf2-sha256$9999$uP9mXFtg6uiL5bfK3v6GpQ==$g4rhXW01ztUFl74dESOwNvSOORFXOuB25nezGBS9kuU=")]
    [InlineData("pbkdf2-sha256$210000$uP9mXFtg6uiL5bfK3v6GpQ==$g4rhXW01ztUFl74dESOwNvSOORFXOuB25nezGBS9kuU=$x")]
    [InlineData("pbkdf2-sha256$210000$uP9m$g4rhXW01ztUFl74dESOwNvSOORFXOuB25nezGBS9kuU=")]
    [InlineData("pbkdf2-sha256$210000$uP9mXFtg6uiL5bfK3v6GpQ==$g4rhXW01ztUFl74d!SOwNvSOORFXOuB25nezGBS9kuU=")]
    [InlineData("pbkdf2-sha1$210000$uP9mXFtg6uiL5bfK3v6GpQ==$g4rhXW01ztUFl74dESOwNvSOORFXOuB25nezGBS9kuU=")]
    [InlineData("pbkdf2-sha256$-210000$uP9mXFtg6uiL5bfK3v6GpQ==$g4rhXW01ztUFl74dESOwNvSOORFXOuB25nezGBS9kuU=")]
    public void Password_hashes_in_utf8_are_checked_as_their_text_is(string hash)
        => Assert.Equal(CasGateway.Authentication.PasswordHash.IterationsOf(hash), CasGateway.Authentication.PasswordHash.IterationsOf(Encoding.UTF8.GetBytes(hash)));
}
