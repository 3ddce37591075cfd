using System.Text.Json.Serialization;
using CasGateway.Anchoring;
using CasGateway.Routing;
using Microsoft.Extensions.Options;

namespace CasGateway.Autodiscover;

/// <summary>Autodiscover v2's answer: one URL for one protocol.</summary>
public sealed record JsonAutodiscoverAnswer(string Protocol, string Url);

/// <summary>Autodiscover v2's error body.</summary>
public sealed record JsonAutodiscoverError(string ErrorCode, string ErrorMessage);

[JsonSerializable(typeof(JsonAutodiscoverAnswer))]
[JsonSerializable(typeof(JsonAutodiscoverError))]
internal sealed partial class AutodiscoverJsonContext : JsonSerializerContext;

/// <summary>
/// Autodiscover v2 (<c>GET /autodiscover/autodiscover.json?Email=…&amp;Protocol=…</c> and
/// <c>…/autodiscover.json/v1.0/&lt;email&gt;?Protocol=…</c>), anonymous as in Exchange Online. An address the
/// directory does not know gets this site's URLs, so the answer does not tell whether a mailbox exists here.
/// </summary>
public sealed class JsonAutodiscover(AutodiscoverResolver resolver, IOptionsMonitor<SiteRoutingOptions> routing)
{
    private static readonly string[] Protocols = ["ActiveSync", "AutodiscoverV1", "Ews", "Rest"];

    public async Task<IResult> AnswerAsync(HttpContext context, string? address)
    {
        var protocolText = context.Request.Query["Protocol"].ToString();
        var protocol = Array.Find(Protocols, p => p.Equals(protocolText, StringComparison.OrdinalIgnoreCase));
        if (protocol is null)
        {
            return Error(StatusCodes.Status400BadRequest, "InvalidProtocol",
                $"The given protocol value '{Sanitize(protocolText)}' is invalid. Supported values are '{string.Join(",", Protocols)}'.");
        }
        if (string.IsNullOrEmpty(address) || !AnchorMailbox.TryParse(address, out var anchor) || anchor.Value.Kind != AnchorKind.Smtp)
        {
            return Error(StatusCodes.Status400BadRequest, "InvalidUser", "Give the user's email address (Email= or /v1.0/<email>).");
        }
        var family = protocol switch
        {
            "ActiveSync" => ProtocolFamily.ActiveSync,
            "AutodiscoverV1" => ProtocolFamily.Autodiscover,
            _ => ProtocolFamily.Ews,
        };
        var answer = await resolver.ResolveAsync(context.Request, family, address, caller: null, context.RequestAborted);
        AutodiscoverStage.Record(context, answer);
        PublishedUrls urls;
        switch (answer.Kind)
        {
            case AnswerKind.RedirectAddress:
                // The cloud's own Autodiscover answers for its mailboxes.
                var cloud = new Uri(new Uri(routing.CurrentValue.Cloud.AutodiscoverEndpoint), "/autodiscover/autodiscover.json/v1.0/" + Uri.EscapeDataString(answer.RedirectAddress!));
                return Results.Redirect(cloud + context.Request.QueryString.ToUriComponent());
            case AnswerKind.Unavailable:
                return Error(StatusCodes.Status503ServiceUnavailable, "ServerBusy", answer.Message!);
            case AnswerKind.Refused:
                return Error(StatusCodes.Status404NotFound, "MailboxNotHere", answer.Message ?? "The mailbox is not served here.");
            case AnswerKind.Settings:
                urls = answer.Urls!;
                break;
            default:
                // Unknown addresses and older versions' mailboxes (which the gateway proxies): this site's URLs.
                urls = resolver.Namespaces.Own;
                break;
        }
        var url = protocol switch
        {
            "ActiveSync" => urls.Preferred(ProtocolFamily.ActiveSync),
            "AutodiscoverV1" => new Uri(urls.Preferred(ProtocolFamily.Autodiscover), "autodiscover.xml"),
            "Rest" => new Uri(urls.Preferred(ProtocolFamily.Ews), "/api"),
            _ => urls.Preferred(ProtocolFamily.Ews),
        };
        return Results.Json(new JsonAutodiscoverAnswer(protocol, url.ToString()), AutodiscoverJsonContext.Default.JsonAutodiscoverAnswer);
    }

    private static IResult Error(int status, string code, string message)
        => Results.Json(new JsonAutodiscoverError(code, message), AutodiscoverJsonContext.Default.JsonAutodiscoverError, statusCode: status);

    /// <summary>Echoes at most 32 printable characters of a client value.</summary>
    private static string Sanitize(string text)
        => new([.. text.Take(32).Where(c => !char.IsControl(c))]);
}
