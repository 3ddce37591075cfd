using CasGateway.Location.Ldap;

namespace CasGateway.Tests.Location;

/// <summary>Issue 18: values escaped into LDAP filters per RFC 4515, so a user name can never change a filter's meaning.</summary>
public sealed class LdapFilterTests
{
    [Theory]
    [InlineData("alice@contoso.com", "alice@contoso.com")]
    [InlineData("*", "\\2a")]
    [InlineData("*)(mail=*", "\\2a\\29\\28mail=\\2a")]
    [InlineData("a\\b", "a\\5cb")]
    [InlineData("nul\0", "nul\\00")]
    [InlineData("Lučić", "Lu\\c4\\8di\\c4\\87")]
    public void Special_characters_become_escapes(string value, string escaped) => Assert.Equal(escaped, LdapFilter.Escape(value));

    [Fact]
    public void A_guid_is_matched_byte_for_byte()
    {
        var guid = Guid.Parse("6f1c2e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b");
        Assert.Equal("\\2a\\2e\\1c\\6f\\4d\\3b\\5f\\4e\\8a\\9b\\0c\\1d\\2e\\3f\\4a\\5b", LdapFilter.Escape(guid.ToByteArray()));
    }

    [Theory]
    [InlineData("6F1C2E2A-3B4D-4E5F-8A9B-0C1D2E3F4A5B")]
    [InlineData("6f1c2e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b")]
    [InlineData("{6f1c2e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b}")]
    [InlineData("6f1c2e2a3b4d4e5f8a9b0c1d2e3f4a5b")]
    public void An_object_id_is_matched_as_entra_connect_writes_it_back_and_as_a_bare_guid(string oid)
    {
        // Whatever form the token's oid claim had, the filter asks for the two forms a directory holds, in lower case.
        var filter = LdapFilter.ObjectId("msDS-ExternalDirectoryObjectId", Guid.Parse(oid));
        Assert.Equal(
            "(|(msDS-ExternalDirectoryObjectId=User_6f1c2e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b)(msDS-ExternalDirectoryObjectId=6f1c2e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b))",
            filter);
        Assert.True(LdapFilter.IsWellFormed(filter));
    }

    [Theory]
    [InlineData("(objectClass=user)", true)]
    [InlineData("(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))", true)]
    [InlineData("(cn=a\\29b)", true)]
    [InlineData("objectClass=user", false)]
    [InlineData("(objectClass=user", false)]
    [InlineData("(a=b))(c=d", false)]
    [InlineData("", false)]
    public void Configured_filters_are_checked(string filter, bool wellFormed) => Assert.Equal(wellFormed, LdapFilter.IsWellFormed(filter));

    [Theory]
    [InlineData("ldaps://dc1.contoso.com", "dc1.contoso.com", 636, true)]
    [InlineData("ldap://dc1.contoso.com", "dc1.contoso.com", 389, false)]
    [InlineData("ldaps://127.0.0.1:10636/", "127.0.0.1", 10636, true)]
    public void Directory_server_urls_parse(string url, string host, int port, bool ldaps)
    {
        Assert.True(LdapServerPool.TryParseServer(url, out var server));
        Assert.Equal(new LdapServer(host, port, ldaps), server);
    }

    [Theory]
    [InlineData("dc1.contoso.com")]
    [InlineData("https://dc1.contoso.com")]
    [InlineData("ldap://dc1.contoso.com/dc=contoso,dc=com")]
    [InlineData("ldaps://user:pw@dc1.contoso.com")]
    public void Anything_else_is_refused(string url) => Assert.False(LdapServerPool.TryParseServer(url, out _));
}
