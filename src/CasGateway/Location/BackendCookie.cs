using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using CasGateway.Anchoring;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace CasGateway.Location;

/// <summary>One anchor's remembered route.</summary>
public sealed record BackendCookieEntry(
    string Anchor,
    string Server,
    string Database,
    string MailboxAddress,
    Guid MailboxGuid,
    DateTimeOffset Expires,
    bool Affinity);

/// <summary>
/// Reads and writes the backend cookie: up to N entries, one per anchor, protected by ASP.NET Core Data
/// Protection so any node sharing the key ring can read it and nobody can forge or alter it. A cookie that fails
/// to unprotect or parse is treated as absent: the cookie only ever chooses where to try first.
/// </summary>
/// <remarks>
/// A cookie of one entry (the usual case: a client's first request, or a client that never returns cookies) is
/// protected once, its <c>Set-Cookie</c> header built once, and both reused for the next requests of the same anchor on the same route, for 1/60 of the entry's
/// lifetime: its expiry is then up to that much earlier than a freshly made one. Protecting costs a key derivation,
/// an AES encryption and an HMAC, which the profile under load showed on every proxied response.
/// </remarks>
public sealed class BackendCookie(IDataProtectionProvider protection, IOptions<BackendCookieOptions> options, TimeProvider clock)
{
    private const int MaxReused = 10_000;
    private const int ReuseFraction = 60;
    private readonly IDataProtector _protector = protection.CreateProtector("CasGateway.BackendCookie.v1");
    private readonly BackendCookieOptions _options = options.Value;
    private readonly ConcurrentDictionary<BackendCookieEntry, ProtectedCookie> _reused = new();

    public string Name => _options.Name;

    /// <summary>The entries of the request's cookie, or empty when absent, tampered or foreign.</summary>
    public IReadOnlyList<BackendCookieEntry> Read(HttpRequest request)
    {
        var value = request.Cookies[_options.Name];
        if (string.IsNullOrEmpty(value))
        {
            return [];
        }
        try
        {
            var json = _protector.Unprotect(Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlDecode(value));
            return JsonSerializer.Deserialize(json, CookieJsonContext.Default.ListBackendCookieEntry) ?? [];
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or JsonException)
        {
            return [];
        }
    }

    /// <summary>The live entry for <paramref name="anchor"/>, if any.</summary>
    public BackendCookieEntry? Find(IReadOnlyList<BackendCookieEntry> entries, AnchorMailbox anchor)
    {
        var now = clock.GetUtcNow();
        foreach (var entry in entries)
        {
            if (anchor.SameAs(entry.Anchor) && entry.Expires > now)
            {
                return entry;
            }
        }
        return null;
    }

    /// <summary>A new entry for a freshly located anchor.</summary>
    public BackendCookieEntry Create(AnchorMailbox anchor, MailboxServer server, MailboxLocation location, bool affinity)
        => Create(anchor, server.Fqdn, location.Database?.Name ?? "", location.Mailbox.PrimarySmtpAddress, location.Mailbox.Guid, affinity);

    public BackendCookieEntry Create(AnchorMailbox anchor, string server, string database, string mailboxAddress, Guid mailboxGuid, bool affinity)
        => new(anchor.Address, server, database, mailboxAddress, mailboxGuid,
            clock.GetUtcNow() + (affinity ? _options.AffinityEntryLifetime : _options.ServerEntryLifetime), affinity);

    /// <summary>The entry with its sliding lifetime renewed (affinity entries).</summary>
    public BackendCookieEntry Renew(BackendCookieEntry entry) => entry with { Expires = clock.GetUtcNow() + _options.AffinityEntryLifetime };

    /// <summary>Sets the cookie: <paramref name="upsert"/> first, then the other live entries, at most N; <paramref name="remove"/> dropped.</summary>
    public void Write(HttpResponse response, string path, IReadOnlyList<BackendCookieEntry> existing, BackendCookieEntry? upsert, string? remove)
    {
        var now = clock.GetUtcNow();
        var entries = new List<BackendCookieEntry>(_options.MaxEntries);
        if (upsert is not null)
        {
            entries.Add(upsert);
        }
        foreach (var entry in existing)
        {
            if (entries.Count >= _options.MaxEntries)
            {
                break;
            }
            var replaced = (upsert is not null && string.Equals(entry.Anchor, upsert.Anchor, StringComparison.OrdinalIgnoreCase))
                || (remove is not null && string.Equals(entry.Anchor, remove, StringComparison.OrdinalIgnoreCase));
            if (!replaced && entry.Expires > now)
            {
                entries.Add(entry);
            }
        }
        if (entries.Count == 1)
        {
            response.Headers.Append(HeaderNames.SetCookie, SetCookieOfOne(entries[0], path));
            return;
        }
        var cookie = new CookieOptions { Path = path, Secure = true, HttpOnly = true, SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Lax };
        if (entries.Count == 0)
        {
            response.Cookies.Delete(_options.Name, cookie);
            return;
        }
        response.Cookies.Append(_options.Name, Protect(entries), cookie);
    }

    private string Protect(List<BackendCookieEntry> entries)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(entries, CookieJsonContext.Default.ListBackendCookieEntry);
        return Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(_protector.Protect(json));
    }

    /// <summary>
    /// One entry's <c>Set-Cookie</c> header, reused while its expiry is less than 1/60 of the lifetime before this
    /// one's would be (the header is the same as <c>Response.Cookies.Append</c> writes, built once).
    /// </summary>
    private string SetCookieOfOne(BackendCookieEntry entry, string path)
    {
        var route = entry with { Expires = default };
        var lifetime = entry.Affinity ? _options.AffinityEntryLifetime : _options.ServerEntryLifetime;
        if (_reused.TryGetValue(route, out var known) && known.Expires >= entry.Expires - lifetime / ReuseFraction)
        {
            return known.Path == path ? known.Header : SetCookie(known.Value, path);
        }
        var value = Protect([entry]);
        var header = SetCookie(value, path);
        if (_reused.Count >= MaxReused)
        {
            _reused.Clear();
        }
        _reused[route] = new ProtectedCookie(value, entry.Expires, path, header);
        return header;
    }

    private string SetCookie(string value, string path)
        => new SetCookieHeaderValue(_options.Name, Uri.EscapeDataString(value))
        {
            Path = path,
            Secure = true,
            HttpOnly = true,
            SameSite = Microsoft.Net.Http.Headers.SameSiteMode.Lax,
        }.ToString();

    private sealed record ProtectedCookie(string Value, DateTimeOffset Expires, string Path, string Header);
}

[JsonSerializable(typeof(List<BackendCookieEntry>))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class CookieJsonContext : JsonSerializerContext;
