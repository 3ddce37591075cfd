using Microsoft.Extensions.Primitives;

namespace CasGateway.Anchoring;

/// <summary>Hint readers shared by the family rules.</summary>
public static class AnchorHints
{
    public const string AnchorMailboxHeader = "X-AnchorMailbox";

    /// <summary>Reads an anchor from a header: absent → null outcome; present but unusable → 400.</summary>
    public static AnchorOutcome? FromHeader(HttpRequest request, string header, string sourceName)
    {
        if (!request.Headers.TryGetValue(header, out var values))
        {
            return null;
        }
        return Parse(values, sourceName, header);
    }

    /// <summary>Parses one hint value (several values → 400).</summary>
    public static AnchorOutcome Parse(StringValues values, string sourceName, string what)
    {
        if (values.Count != 1)
        {
            return AnchorOutcome.Bad($"{what} must appear once.");
        }
        return AnchorMailbox.TryParse(values[0], out var anchor)
            ? AnchorOutcome.FromHint(anchor.Value, AnchorOutcome.SourceName(sourceName, anchor.Value))
            : AnchorOutcome.Bad($"{what} is not an SMTP address or <mailbox guid>@<domain>.");
    }
}
