using CasGateway.Anchoring;

namespace CasGateway.Tests.Anchoring;

public sealed class AnchorMailboxTests
{
    [Theory]
    [InlineData("alice@contoso.com", AnchorKind.Smtp)]
    [InlineData("Alice.Smith+tag@mail.contoso.com", AnchorKind.Smtp)]
    [InlineData("5b0c3a51-0e1a-4c1f-9d7c-1a0f2f6c0001@contoso.com", AnchorKind.MailboxGuid)]
    public void Parses_valid_anchors(string value, AnchorKind kind)
    {
        Assert.True(AnchorMailbox.TryParse(value, out var anchor));
        Assert.Equal(kind, anchor.Value.Kind);
        Assert.Equal(value, anchor.Value.Address);
    }

    [Fact]
    public void Guid_anchor_carries_the_guid()
    {
        Assert.True(AnchorMailbox.TryParse("5b0c3a51-0e1a-4c1f-9d7c-1a0f2f6c0001@contoso.com", out var anchor));
        Assert.Equal(Guid.Parse("5b0c3a51-0e1a-4c1f-9d7c-1a0f2f6c0001"), anchor.Value.MailboxGuid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("alice")]
    [InlineData("@contoso.com")]
    [InlineData("alice@")]
    [InlineData("alice@@contoso.com")]
    [InlineData("a@b@contoso.com")]
    [InlineData("alice@contoso..com")]
    [InlineData(".alice@contoso.com")]
    [InlineData("alice@contoso.com\r\nX-Evil: 1")]
    [InlineData("alice@contoso.com\0")]
    [InlineData("../../etc/passwd@contoso.com")]
    [InlineData("alice@contoso.com/../x")]
    [InlineData("alice smith@contoso.com")]
    [InlineData("alice@contoso_com")]
    [InlineData("älice@contoso.com")]
    public void Rejects_hostile_or_malformed_anchors(string value)
    {
        Assert.False(AnchorMailbox.TryParse(value, out _));
    }

    [Fact]
    public void Rejects_over_long_anchor()
    {
        Assert.False(AnchorMailbox.TryParse(new string('a', 250) + "@contoso.com", out _));
    }
}
