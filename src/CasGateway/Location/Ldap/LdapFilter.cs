using System.Text;

namespace CasGateway.Location.Ldap;

/// <summary>
/// LDAP search filters (RFC 4515) built from client-supplied values: every value is escaped, so a user name or hint
/// such as <c>*</c>, <c>x)(mail=*</c> or one with a NUL matches only an attribute holding exactly that text.
/// </summary>
internal static class LdapFilter
{
    /// <summary>The value as a filter assertion value: <c>*</c>, <c>(</c>, <c>)</c>, <c>\</c> and NUL (and all non-ASCII bytes) as <c>\xx</c>.</summary>
    public static string Escape(string value)
    {
        var builder = new StringBuilder(value.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (byte)'*' or (byte)'(' or (byte)')' or (byte)'\\' or 0 or >= 0x80)
            {
                builder.Append('\\').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append((char)b);
            }
        }
        return builder.ToString();
    }

    /// <summary>Raw bytes (a binary GUID) as an assertion value: every byte as <c>\xx</c>.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            builder.Append('\\').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }

    /// <summary><c>(attribute=value)</c> with the value escaped.</summary>
    public static string Equal(string attribute, string value) => $"({attribute}={Escape(value)})";

    /// <summary>
    /// <c>(|(attribute=User_guid)(attribute=guid))</c>: an Entra ID object id in the form Entra Connect writes back to
    /// <c>msDS-ExternalDirectoryObjectId</c> (<c>User_</c> and the GUID in lower case) and as a bare GUID.
    /// </summary>
    public static string ObjectId(string attribute, Guid objectId)
    {
        var text = objectId.ToString("D");
        return $"(|{Equal(attribute, "User_" + text)}{Equal(attribute, text)})";
    }

    /// <summary>A configured filter: in parentheses, balanced, no NUL (a cheap check that catches typos at start).</summary>
    public static bool IsWellFormed(string? filter)
    {
        if (string.IsNullOrEmpty(filter) || filter[0] != '(' || filter[^1] != ')')
        {
            return false;
        }
        var depth = 0;
        for (var i = 0; i < filter.Length; i++)
        {
            switch (filter[i])
            {
                case '\0':
                    return false;
                case '\\':
                    i += 2;
                    break;
                case '(':
                    depth++;
                    break;
                case ')':
                    if (--depth < 0 || (depth == 0 && i != filter.Length - 1))
                    {
                        return false;
                    }
                    break;
            }
        }
        return depth == 0;
    }
}
