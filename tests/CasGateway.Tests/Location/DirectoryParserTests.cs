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
}
