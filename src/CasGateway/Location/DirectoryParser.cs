using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CasGateway.Anchoring;

namespace CasGateway.Location;

/// <summary>The directory file could not be used; the message names the file, the position and the problem.</summary>
public sealed class DirectoryLoadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Parses and checks a directory file into a <see cref="DirectorySnapshot"/>.</summary>
internal static class DirectoryParser
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Parses a whole file already in memory (tests, <c>directory import</c>).</summary>
    public static DirectorySnapshot Parse(string path, byte[] json)
    {
        using var stream = new MemoryStream(json, writable: false);
        return Parse(path, stream);
    }

    /// <summary>
    /// Reads the file in chunks (issue 23: a 260 MB file of a million mailboxes is never held whole): the small
    /// sections are deserialized as they are, each mailbox is deserialized on its own, checked and moved into a
    /// <see cref="MailboxTable"/> row, so its parsed object is garbage at once. The checks that need another section
    /// (a mailbox's database, an address book's mailbox) run once the whole file is read, whatever its order.
    /// </summary>
    public static DirectorySnapshot Parse(string path, Stream stream)
    {
        var document = new DirectoryDocument();
        var table = new MailboxTable();
        var rows = new MailboxRows(table);
        var errors = new List<string>();
        try
        {
            ReadDocument(new JsonChunks(stream), document, rows);
        }
        catch (JsonException ex)
        {
            throw Invalid(path, ex);
        }
        catch (NotAJsonObjectException ex)
        {
            throw new DirectoryLoadException($"Directory file '{path}' {ex.Message}");
        }
        var snapshot = Build(document, rows, errors);
        if (errors.Count > 0)
        {
            throw new DirectoryLoadException(
                $"Directory file '{path}' has {errors.Count} problem(s):" + string.Concat(errors.Select(e => Environment.NewLine + "  " + e)));
        }
        return snapshot;
    }

    /// <summary>The document itself once it passed every check of <see cref="Parse(string, byte[])"/>, to copy it into another store.</summary>
    /// <exception cref="DirectoryLoadException">The file has problems; every one is listed.</exception>
    public static DirectoryDocument ParseDocument(string path, byte[] json)
    {
        Parse(path, json);
        return JsonSerializer.Deserialize<DirectoryDocument>(json, Options)!;
    }

    private static DirectoryLoadException Invalid(string path, JsonException ex)
    {
        var at = ex.Path is null ? "" : ", at " + ex.Path;
        var where = ex.LineNumber is { } line
            ? string.Create(CultureInfo.InvariantCulture, $"line {line + 1}, column {ex.BytePositionInLine + 1}{at}")
            : "at " + ex.Path;
        return new DirectoryLoadException($"Directory file '{path}' is not valid: {where}: {FirstSentence(ex.Message)}", ex);
    }

    /// <summary>The root is not an object (or is <c>null</c>): the message completes "Directory file '…'".</summary>
    private sealed class NotAJsonObjectException(string message) : Exception(message);

    private static void ReadDocument(JsonChunks json, DirectoryDocument document, MailboxRows rows)
    {
        var reader = json.Reader();
        json.Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new NotAJsonObjectException(reader.TokenType == JsonTokenType.Null ? "is empty (expected a JSON object)." : "is not a JSON object.");
        }
        while (json.Next(ref reader) && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            var section = "$." + name;
            switch (name.ToLowerInvariant())
            {
                case "$schema":
                    document.Schema = json.Value<string>(ref reader, section);
                    break;
                case "sites":
                    document.Sites = json.Value<List<SiteEntry>>(ref reader, section) ?? [];
                    break;
                case "servers":
                    document.Servers = json.Value<List<ServerEntry>>(ref reader, section) ?? [];
                    break;
                case "databases":
                    document.Databases = json.Value<List<DatabaseEntry>>(ref reader, section) ?? [];
                    break;
                case "offlineaddressbooks":
                    document.OfflineAddressBooks = json.Value<List<OfflineAddressBookEntry>>(ref reader, section) ?? [];
                    break;
                case "mailboxes":
                    json.Next(ref reader);
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new JsonException($"'{section}' is not an array.", section, null, null);
                    }
                    for (var i = 0; ; i++)
                    {
                        // Optimistic: most elements are read straight from the buffer; one cut by the buffer's end
                        // is read again after a refill, anything unusual by the serializer.
                        var element = reader;
                        var plain = reader.Read() ? rows.TryAddPlain(ref reader, i) : Plain.Incomplete;
                        if (plain == Plain.End)
                        {
                            break;
                        }
                        if (plain == Plain.Incomplete)
                        {
                            reader = element;
                            json.EnsureValue(ref reader);
                            element = reader;
                            reader.Read();
                            plain = rows.TryAddPlain(ref reader, i);
                        }
                        if (plain == Plain.End)
                        {
                            break;
                        }
                        if (plain != Plain.Added)
                        {
                            reader = element;
                            rows.Add(json.Value<MailboxEntry>(ref reader, section, i), i);
                        }
                    }
                    break;
                default:
                    throw new JsonException($"The JSON property '{name}' could not be mapped to any .NET member contained in type 'CasGateway.Location.DirectoryDocument'.", "$", null, null);
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || json.Next(ref reader))
        {
            throw new JsonException("Expected the end of the directory object.", "$", null, null);
        }
    }

    /// <summary>
    /// A JSON document read from a stream through a buffer that grows to hold the largest single value: each value
    /// handed to the serializer is first checked to be whole in the buffer (the serializer cannot ask for more).
    /// </summary>
    private sealed class JsonChunks(Stream stream)
    {
        private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
        private byte[] _buffer = new byte[256 * 1024];
        private int _start;
        private int _end;
        private bool _final;
        private JsonReaderState _state = new(ReaderOptions);
        private long _linesBefore;
        private long _columnBefore;

        public Utf8JsonReader Reader() => new(_buffer.AsSpan(_start, _end - _start), _final, _state);

        /// <summary>The next token, reading more of the stream as needed; false at the end of the document.</summary>
        public bool Next(ref Utf8JsonReader reader)
        {
            while (!reader.Read())
            {
                if (!Refill(ref reader))
                {
                    return false;
                }
            }
            return true;
        }

        /// <summary>
        /// The next value, deserialized whole. Serializer errors name <paramref name="section"/> (and the element
        /// <paramref name="index"/> when given) in their path.
        /// </summary>
        public T? Value<T>(ref Utf8JsonReader reader, string section, int index = -1)
        {
            EnsureValue(ref reader);
            Next(ref reader);
            var start = reader.TokenStartIndex;
            try
            {
                return JsonSerializer.Deserialize<T>(ref reader, Options);
            }
            catch (JsonException ex)
            {
                // The serializer reads the value on its own reader: its line and column count from the value's start.
                var at = index >= 0 ? string.Create(CultureInfo.InvariantCulture, $"{section}[{index}]") : section;
                var (line, column) = PositionOf(start);
                var relativeLine = ex.LineNumber ?? 0;
                throw new JsonException(ex.Message, ex.Path is { } relative ? at + relative[1..] : at,
                    line + relativeLine, relativeLine == 0 ? column + (ex.BytePositionInLine ?? 0) : ex.BytePositionInLine, ex);
            }
        }

        /// <summary>Line and column (from 0) of a position of the current reader, counted from the start of the stream.</summary>
        private (long Line, long Column) PositionOf(long readerIndex)
        {
            var before = _buffer.AsSpan(0, _start + (int)readerIndex);
            var newlines = before.Count((byte)'\n');
            return newlines > 0
                ? (_linesBefore + newlines, before.Length - before.LastIndexOf((byte)'\n') - 1)
                : (_linesBefore, _columnBefore + before.Length);
        }

        /// <summary>Reads until the next value (or the end of the array or object the reader is in) is whole in the buffer.</summary>
        public void EnsureValue(ref Utf8JsonReader reader)
        {
            while (true)
            {
                var probe = reader;
                if ((probe.Read() && probe.TrySkip()) || !Refill(ref reader))
                {
                    return;
                }
            }
        }

        /// <summary>Keeps what the reader has not consumed, reads more after it; false when the stream had ended already.</summary>
        private bool Refill(ref Utf8JsonReader reader)
        {
            if (_final)
            {
                return false;
            }
            _start += (int)reader.BytesConsumed;
            _state = reader.CurrentState;
            var dropped = _buffer.AsSpan(0, _start);
            var newlines = dropped.Count((byte)'\n');
            (_linesBefore, _columnBefore) = newlines > 0
                ? (_linesBefore + newlines, dropped.Length - dropped.LastIndexOf((byte)'\n') - 1)
                : (_linesBefore, _columnBefore + dropped.Length);
            var kept = _end - _start;
            if (kept == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            else
            {
                _buffer.AsSpan(_start, kept).CopyTo(_buffer);
            }
            (_start, _end) = (0, kept);
            while (_end < _buffer.Length)
            {
                var read = stream.Read(_buffer, _end, _buffer.Length - _end);
                if (read == 0)
                {
                    _final = true;
                    break;
                }
                _end += read;
            }
            reader = Reader();
            return true;
        }
    }

    private static DirectorySnapshot Build(DirectoryDocument document, MailboxRows rows, List<string> errors)
    {
        var sites = new List<string>();
        for (var i = 0; i < document.Sites.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(document.Sites[i].Name))
            {
                errors.Add($"$.sites[{i}].name: required");
                continue;
            }
            sites.Add(document.Sites[i].Name!);
        }

        var servers = new Dictionary<string, MailboxServer>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < document.Servers.Count; i++)
        {
            var entry = document.Servers[i];
            var at = $"$.servers[{i}]";
            if (string.IsNullOrWhiteSpace(entry.Fqdn))
            {
                errors.Add($"{at}.fqdn: required");
                continue;
            }
            if (servers.ContainsKey(entry.Fqdn))
            {
                errors.Add($"{at}.fqdn: '{entry.Fqdn}' is listed twice");
                continue;
            }
            if (entry.Site is null || !sites.Contains(entry.Site, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{at}.site: '{entry.Site}' is not one of the sites ({string.Join(", ", sites)})");
            }
            if (!Version.TryParse(entry.Version, out var version))
            {
                errors.Add($"{at}.version: '{entry.Version}' is not a version such as 15.2.1544.4");
            }
            var imap = ParseEndpoint(entry.ImapEndpoint, $"{at}.imapEndpoint", errors);
            var pop = ParseEndpoint(entry.PopEndpoint, $"{at}.popEndpoint", errors);
            var smtp = ParseEndpoint(entry.SmtpEndpoint, $"{at}.smtpEndpoint", errors);
            var um = ParseEndpoint(entry.UmEndpoint, $"{at}.umEndpoint", errors);
            if (!Uri.TryCreate(entry.BackendUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                errors.Add($"{at}.backendUrl: '{entry.BackendUrl}' is not an absolute http(s) URL");
            }
            Uri? external = null;
            if (entry.ExternalUrl is not null && (!Uri.TryCreate(entry.ExternalUrl, UriKind.Absolute, out external) || external.Scheme != "https"))
            {
                errors.Add($"{at}.externalUrl: '{entry.ExternalUrl}' is not an absolute https URL");
            }
            if (version is not null && url is not null)
            {
                servers[entry.Fqdn] = new MailboxServer(entry.Fqdn, entry.Site ?? "", version, url) { IsFrontEnd = entry.FrontEnd, ExternalUrl = external, ImapEndpoint = imap, PopEndpoint = pop, SmtpEndpoint = smtp, UmEndpoint = um };
            }
        }

        var databases = new Dictionary<string, MailboxDatabase>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < document.Databases.Count; i++)
        {
            var entry = document.Databases[i];
            var at = $"$.databases[{i}]";
            if (string.IsNullOrWhiteSpace(entry.Name))
            {
                errors.Add($"{at}.name: required");
                continue;
            }
            if (databases.ContainsKey(entry.Name))
            {
                errors.Add($"{at}.name: '{entry.Name}' is listed twice");
                continue;
            }
            var copies = new List<MailboxServer>();
            MailboxServer? active = null;
            var activeCount = 0;
            for (var c = 0; c < entry.Copies.Count; c++)
            {
                var copy = entry.Copies[c];
                if (copy.Server is null || !servers.TryGetValue(copy.Server, out var server))
                {
                    errors.Add($"{at}.copies[{c}].server: '{copy.Server}' is not one of the servers");
                    continue;
                }
                copies.Add(server);
                if (copy.Active)
                {
                    active = server;
                    activeCount++;
                }
            }
            if (activeCount != 1)
            {
                errors.Add($"{at}.copies: exactly one copy must be active, found {activeCount}");
                continue;
            }
            databases[entry.Name] = new MailboxDatabase(entry.Name, entry.Guid, active!, copies);
        }

        errors.AddRange(rows.Errors);
        for (var i = 0; i < rows.Table.Count; i++)
        {
            if (rows.Table.DatabaseOf(i) is { } name && !databases.ContainsKey(name))
            {
                errors.Add($"$.mailboxes[{i}].database: '{name}' is not one of the databases");
            }
        }
        var oabs = new List<KeyValuePair<Guid, int>>();
        for (var i = 0; i < document.OfflineAddressBooks.Count; i++)
        {
            var entry = document.OfflineAddressBooks[i];
            var at = $"$.offlineAddressBooks[{i}]";
            var row = entry.Mailbox is null ? -1 : rows.Table.FindAddress(entry.Mailbox);
            if (entry.Guid == Guid.Empty || oabs.Any(o => o.Key == entry.Guid))
            {
                errors.Add($"{at}.guid: '{entry.Guid}' is empty or used twice");
            }
            else if (row < 0 || !string.Equals(rows.Table.MailboxAt(row).PrimarySmtpAddress, entry.Mailbox, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{at}.mailbox: '{entry.Mailbox}' is not the primary address of a mailbox");
            }
            else
            {
                oabs.Add(KeyValuePair.Create(entry.Guid, row));
            }
        }
        rows.Table.Seal();
        return new DirectorySnapshot(sites, [.. servers.Values], databases.Values, rows.Table, rows.ObjectIds, rows.VoiceKeys, oabs, rows.UsualIterations);
    }

    /// <summary>
    /// Checks each mailbox as it is read and moves it into the table: the checks of one mailbox alone and against
    /// the ones before it (duplicate GUIDs, addresses, object ids, voice identities); the database is checked at the end.
    /// </summary>
    private sealed class MailboxRows(MailboxTable table)
    {
        private readonly Dictionary<int, int> _iterations = [];

        public MailboxTable Table => table;

        public List<string> Errors { get; } = [];

        public Dictionary<Guid, int> ObjectIds { get; } = [];

        public Dictionary<string, int> VoiceKeys { get; } = new(StringComparer.Ordinal);

        /// <summary>The iteration count most password hashes use; 0 without hashes.</summary>
        public int UsualIterations => _iterations.Count == 0 ? 0 : _iterations.MaxBy(i => i.Value).Key;

        /// <summary>A mailbox as the serializer read it (any shape the file format allows).</summary>
        public void Add(MailboxEntry? entry, int index)
        {
            if (entry is null)
            {
                Errors.Add($"{At(index)}: expected an object");
                return;
            }
            var voice = ParseVoice(entry, () => At(index), Errors);
            var extras = entry.Aliases.Count > 0 || entry.CloudTargetAddress is not null || entry.ObjectId is not null || voice is not null
                ? new MailboxTable.Extras(entry.Aliases, entry.CloudTargetAddress, entry.ObjectId, voice)
                : null;
            var hash = entry.PasswordHash is null ? null : Encoding.UTF8.GetBytes(entry.PasswordHash);
            var row = Append(index, entry.Guid, entry.PrimarySmtpAddress, entry.DisplayName, entry.Database, hash, hash is not null, extras);
            for (var n = 0; n < entry.Aliases.Count; n++)
            {
                var alias = entry.Aliases[n];
                if (!IsSmtp(alias))
                {
                    Errors.Add($"{At(index)}.aliases[{n}]: '{alias}' is not an SMTP address");
                }
                else if (!table.IndexAlias(row, alias))
                {
                    Errors.Add($"{At(index)}.aliases[{n}]: '{alias}' belongs to another mailbox too");
                }
            }
            if (entry.CloudTargetAddress is not null && (entry.Database is not null || !AnchorMailbox.TryParse(entry.CloudTargetAddress, out _)))
            {
                Errors.Add($"{At(index)}.cloudTargetAddress: a cloud mailbox needs a valid address and no database");
            }
            if (entry.ObjectId is { } objectId && (objectId == Guid.Empty || !ObjectIds.TryAdd(objectId, row)))
            {
                Errors.Add($"{At(index)}.objectId: '{objectId}' is empty or used twice");
            }
            if (voice is not null)
            {
                foreach (var key in DirectorySnapshot.VoiceKeys(voice))
                {
                    if (!VoiceKeys.TryAdd(key, row))
                    {
                        Errors.Add($"{At(index)}: '{key[4..]}' belongs to another mailbox too");
                    }
                }
            }
        }

        /// <summary>
        /// The common shape of a mailbox read straight from the JSON tokens, without the serializer's object:
        /// <c>guid</c>, <c>primarySmtpAddress</c>, <c>database</c>, optional <c>displayName</c> and
        /// <c>passwordHash</c>, empty <c>aliases</c>, no escaped text. False (nothing recorded) for anything else,
        /// which the caller then reads with the serializer, so both give the same mailbox or the same error.
        /// </summary>
        public Plain TryAddPlain(ref Utf8JsonReader reader, int index)
        {
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return Plain.End;
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return Plain.No;
            }
            var guid = Guid.Empty;
            string? address = null;
            string? displayName = null;
            var database = ReadOnlySpan<byte>.Empty;
            var hash = ReadOnlySpan<byte>.Empty;
            var hasHash = false;
            while (true)
            {
                if (!reader.Read())
                {
                    return Plain.Incomplete;
                }
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    break;
                }
                if (reader.ValueIsEscaped)
                {
                    return Plain.No;
                }
                var name = reader.ValueSpan;
                if (!reader.Read())
                {
                    return Plain.Incomplete;
                }
                if (reader.TokenType == JsonTokenType.String && reader.ValueIsEscaped)
                {
                    return Plain.No;
                }
                var type = reader.TokenType;
                if (Ascii.EqualsIgnoreCase(name, "guid"u8))
                {
                    if (type != JsonTokenType.String || !reader.TryGetGuid(out guid))
                    {
                        return Plain.No;
                    }
                }
                else if (Ascii.EqualsIgnoreCase(name, "primarySmtpAddress"u8) && type == JsonTokenType.String)
                {
                    address = reader.GetString();
                }
                else if (Ascii.EqualsIgnoreCase(name, "database"u8) && type == JsonTokenType.String)
                {
                    database = reader.ValueSpan;
                }
                else if (Ascii.EqualsIgnoreCase(name, "displayName"u8) && type is JsonTokenType.String or JsonTokenType.Null)
                {
                    displayName = reader.GetString();
                }
                else if (Ascii.EqualsIgnoreCase(name, "passwordHash"u8) && type is JsonTokenType.String)
                {
                    hash = reader.ValueSpan;
                    hasHash = true;
                }
                else if (!(Ascii.EqualsIgnoreCase(name, "aliases"u8) && type == JsonTokenType.StartArray))
                {
                    return Plain.No;
                }
                else if (!reader.Read())
                {
                    return Plain.Incomplete;
                }
                else if (reader.TokenType != JsonTokenType.EndArray)
                {
                    return Plain.No;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || address is null || database.IsEmpty)
            {
                return Plain.No;
            }
            Append(index, guid, address, displayName, table.Intern(database), hash, hasHash, null);
            return Plain.Added;
        }

        /// <summary>Records a row and the checks every mailbox has; returns the row.</summary>
        private int Append(int index, Guid guid, string? address, string? displayName, string? database, ReadOnlySpan<byte> hash, bool hasHash, MailboxTable.Extras? extras)
        {
            var iterations = hasHash ? Authentication.PasswordHash.IterationsOf(hash) : 0;
            if (hasHash && iterations == 0)
            {
                Errors.Add($"{At(index)}.passwordHash: not a hash made by 'CasGateway hash-password'");
            }
            else if (iterations > 0)
            {
                _iterations[iterations] = _iterations.GetValueOrDefault(iterations) + 1;
            }
            var row = table.Append(guid, address ?? "", displayName, extras?.CloudTargetAddress is null ? database : null, hash, hasHash, extras);
            if (guid == Guid.Empty || !table.IndexGuid(row))
            {
                Errors.Add($"{At(index)}.guid: '{guid}' is empty or used twice");
            }
            if (!IsSmtp(address))
            {
                Errors.Add($"{At(index)}.primarySmtpAddress: '{address}' is not an SMTP address");
            }
            else if (!table.IndexAddress(row))
            {
                Errors.Add($"{At(index)}.primarySmtpAddress: '{address}' belongs to another mailbox too");
            }
            if (extras?.CloudTargetAddress is null && database is null)
            {
                Errors.Add($"{At(index)}.database: '' is not one of the databases");
            }
            return row;
        }

        private static string At(int index) => string.Create(CultureInfo.InvariantCulture, $"$.mailboxes[{index}]");

        private static bool IsSmtp(string? address)
            => address is not null && AnchorMailbox.TryParse(address, out var parsed) && parsed.Value.Kind == AnchorKind.Smtp;
    }

    /// <summary>What <see cref="MailboxRows.TryAddPlain"/> made of an array element.</summary>
    private enum Plain
    {
        /// <summary>A mailbox of the common shape: recorded.</summary>
        Added,

        /// <summary>Not the common shape: nothing recorded; the serializer reads it.</summary>
        No,

        /// <summary>The buffer ended inside it: nothing recorded; read it again with more of the file.</summary>
        Incomplete,

        /// <summary>The end of the array.</summary>
        End,
    }

    /// <summary>A mailbox's optional telephone identities, each well formed; null when it has none or one is malformed (reported).</summary>
    private static VoiceIdentity? ParseVoice(MailboxEntry entry, Func<string> at, List<string> errors)
    {
        if (entry.UmExtension is null && entry.SipAddress is null && entry.E164 is null)
        {
            return null;
        }
        var ok = true;
        if (entry.UmExtension is not null && !VoiceAddress.IsExtension(entry.UmExtension))
        {
            errors.Add($"{at()}.umExtension: '{entry.UmExtension}' is not 1-{VoiceAddress.MaxDigits} digits");
            ok = false;
        }
        string? sip = null;
        if (entry.SipAddress is not null && !VoiceAddress.TryNormalizeSipAddress(entry.SipAddress, out sip))
        {
            errors.Add($"{at()}.sipAddress: '{entry.SipAddress}' is not a SIP address such as alice@contoso.com");
            ok = false;
        }
        if (entry.E164 is not null && !VoiceAddress.IsE164(entry.E164))
        {
            errors.Add($"{at()}.e164: '{entry.E164}' is not an E.164 number such as +14255550101");
            ok = false;
        }
        return ok ? new VoiceIdentity(entry.UmExtension, sip, entry.E164) : null;
    }

    /// <summary>An optional <c>host:port</c> (IPv6 in brackets); null when absent, an error when malformed.</summary>
    internal static DnsEndPoint? ParseEndpoint(string? text, string at, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        if (colon > 0
            && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            && (IPAddress.TryParse(host, out _) || Uri.CheckHostName(host) == UriHostNameType.Dns))
        {
            return new DnsEndPoint(host, port);
        }
        errors.Add($"{at}: '{text}' is not host:port");
        return null;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
