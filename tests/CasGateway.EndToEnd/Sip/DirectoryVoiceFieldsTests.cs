using System.Text;
using CasGateway.Location;

namespace CasGateway.EndToEnd.Sip;

/// <summary>The directory's voice fields: parsed, indexed, and refused with a message naming each bad one.</summary>
public sealed class DirectoryVoiceFieldsTests
{
    private static string Directory(string aliceVoice, string bobVoice, string umEndpoint = "\"mbx1.contoso.com:5062\"") => $$"""
        {
          "sites": [ { "name": "S1" } ],
          "servers": [ { "fqdn": "mbx1.contoso.com", "site": "S1", "version": "15.2.1544.4", "backendUrl": "https://127.0.0.1:1/", "umEndpoint": {{umEndpoint}} } ],
          "databases": [ { "name": "DB01", "guid": "11111111-1111-1111-1111-111111111111", "copies": [ { "server": "mbx1.contoso.com", "active": true } ] } ],
          "mailboxes": [
            { "guid": "a1a1a1a1-0000-4000-8000-000000000001", "primarySmtpAddress": "alice@contoso.com", "database": "DB01" {{aliceVoice}} },
            { "guid": "b2b2b2b2-0000-4000-8000-000000000002", "primarySmtpAddress": "bob@contoso.com", "database": "DB01" {{bobVoice}} }
          ]
        }
        """;

    private static DirectorySnapshot Parse(string json) => DirectoryParser.Parse("dir.json", Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Extensions_sip_addresses_and_numbers_find_their_mailbox()
    {
        var snapshot = Parse(Directory(""", "umExtension": "4501", "sipAddress": "sip:Alice@Contoso.com", "e164": "+14255554501" """, ""));
        Assert.Equal("mbx1.contoso.com", snapshot.Servers[0].UmEndpoint!.Host);
        Assert.Equal(5062, snapshot.Servers[0].UmEndpoint!.Port);
        Assert.Equal("alice@contoso.com", snapshot.FindVoiceUser(new VoiceAddress(VoiceAddressKind.Extension, "4501"))!.PrimarySmtpAddress);
        Assert.Equal("alice@contoso.com", snapshot.FindVoiceUser(new VoiceAddress(VoiceAddressKind.SipAddress, "alice@contoso.com"))!.PrimarySmtpAddress);
        Assert.Equal("alice@contoso.com", snapshot.FindVoiceUser(new VoiceAddress(VoiceAddressKind.E164, "+14255554501"))!.PrimarySmtpAddress);
        // One namespace per kind: an extension is not a number.
        Assert.Null(snapshot.FindVoiceUser(new VoiceAddress(VoiceAddressKind.E164, "4501")));
        Assert.Null(snapshot.FindVoiceUser(new VoiceAddress(VoiceAddressKind.Extension, "4502")));
    }

    [Fact]
    public void Bad_and_duplicate_voice_fields_are_each_named()
    {
        var error = Assert.Throws<DirectoryLoadException>(() => Parse(Directory(
            """, "umExtension": "45x1", "sipAddress": "not an address", "e164": "14255554501" """,
            """, "umExtension": "4502" """,
            "\"mbx1.contoso.com\"")));
        Assert.Contains("$.mailboxes[0].umExtension: '45x1'", error.Message);
        Assert.Contains("$.mailboxes[0].sipAddress: 'not an address'", error.Message);
        Assert.Contains("$.mailboxes[0].e164: '14255554501'", error.Message);
        Assert.Contains("$.servers[0].umEndpoint: 'mbx1.contoso.com' is not host:port", error.Message);

        var duplicate = Assert.Throws<DirectoryLoadException>(() => Parse(Directory(""", "umExtension": "4501" """, """, "umExtension": "4501" """)));
        Assert.Contains("$.mailboxes[1]: '4501' belongs to another mailbox too", duplicate.Message);
    }
}
