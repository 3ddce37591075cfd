using System.Text;

namespace CasGateway.Mail.Core;

/// <summary>The SASL mechanisms the front door accepts.</summary>
public enum SaslMechanism
{
    /// <summary>RFC 4616: user name and password.</summary>
    Plain,

    /// <summary>Google/Microsoft XOAUTH2: user name and bearer token.</summary>
    XOAuth2,

    /// <summary>RFC 7628 OAUTHBEARER: bearer token, optionally a user name.</summary>
    OAuthBearer,
}

/// <summary>Decodes SASL client responses and encodes the server's error challenges.</summary>
public static class SaslMessages
{
    private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, true);

    /// <summary>The mechanism for a name as clients send it (case-insensitive).</summary>
    public static SaslMechanism? Parse(string name) => name.ToUpperInvariant() switch
    {
        "PLAIN" => SaslMechanism.Plain,
        "XOAUTH2" => SaslMechanism.XOAuth2,
        "OAUTHBEARER" => SaslMechanism.OAuthBearer,
        _ => null,
    };

    /// <summary>A base64 client response; <c>=</c> is the empty response (SASL-IR, RFC 4959).</summary>
    public static bool TryDecodeBase64(string text, out string decoded)
    {
        decoded = "";
        if (text == "=")
        {
            return true;
        }
        var bytes = new byte[(text.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(text, bytes, out var length))
        {
            return false;
        }
        try
        {
            decoded = StrictUtf8.GetString(bytes, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        return true;
    }

    /// <summary>PLAIN: <c>[authzid] NUL authcid NUL passwd</c>; acting for another identity is not supported.</summary>
    public static bool TryParsePlain(string message, out string user, out string password)
    {
        user = password = "";
        var parts = message.Split('\0');
        if (parts.Length != 3 || parts[1].Length == 0 || (parts[0].Length > 0 && parts[0] != parts[1]))
        {
            return false;
        }
        user = parts[1];
        password = parts[2];
        return true;
    }

    /// <summary>XOAUTH2: <c>user=… ^A auth=Bearer … ^A ^A</c>.</summary>
    public static bool TryParseXOAuth2(string message, out string user, out string token)
    {
        user = token = "";
        foreach (var field in message.Split('\x01', StringSplitOptions.RemoveEmptyEntries))
        {
            if (field.StartsWith("user=", StringComparison.Ordinal))
            {
                user = field[5..];
            }
            else if (field.StartsWith("auth=", StringComparison.Ordinal))
            {
                token = BearerValue(field[5..]);
            }
        }
        return user.Length > 0 && token.Length > 0;
    }

    /// <summary>OAUTHBEARER: a GS2 header <c>n,a=user,</c> then <c>^A key=value … ^A auth=Bearer … ^A ^A</c>.</summary>
    public static bool TryParseOAuthBearer(string message, out string? user, out string token)
    {
        user = null;
        token = "";
        var fields = message.Split('\x01');
        var gs2 = fields[0].Split(',');
        if (gs2.Length < 2 || gs2[0] is not ("n" or "y"))
        {
            return false;
        }
        if (gs2[1].StartsWith("a=", StringComparison.Ordinal))
        {
            user = gs2[1][2..].Replace("=2C", ",", StringComparison.Ordinal).Replace("=3D", "=", StringComparison.Ordinal);
        }
        foreach (var field in fields.Skip(1))
        {
            if (field.StartsWith("auth=", StringComparison.Ordinal))
            {
                token = BearerValue(field[5..]);
            }
        }
        return token.Length > 0;
    }

    /// <summary>The base64 error challenge sent before refusing a token; the client answers it with a dummy response.</summary>
    public static string TokenErrorChallenge(SaslMechanism mechanism) => Convert.ToBase64String(Encoding.ASCII.GetBytes(
        mechanism == SaslMechanism.XOAuth2 ? "{\"status\":\"401\",\"schemes\":\"Bearer\"}" : "{\"status\":\"invalid_token\"}"));

    private static string BearerValue(string auth)
        => auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim() : "";
}
