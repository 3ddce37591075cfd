using System.Collections.Frozen;
using CasGateway.Anchoring;

namespace CasGateway.Location;

/// <summary>An immutable, indexed view of one version of the directory.</summary>
public sealed class DirectorySnapshot
{
    private readonly FrozenDictionary<Guid, Mailbox> _byGuid;
    private readonly FrozenDictionary<Guid, Mailbox> _byObjectId;
    private readonly FrozenDictionary<string, Mailbox> _byAddress;
    private readonly FrozenDictionary<string, MailboxDatabase> _databases;
    private readonly FrozenDictionary<string, Mailbox>.AlternateLookup<ReadOnlySpan<char>> _byAddressSpan;
    private readonly FrozenDictionary<Guid, string> _passwordHashes;
    private readonly FrozenDictionary<Guid, Mailbox> _oabMailboxes;
    private readonly FrozenDictionary<string, Mailbox> _byVoice;

    internal DirectorySnapshot(
        IReadOnlyList<string> sites,
        IReadOnlyList<MailboxServer> servers,
        IEnumerable<MailboxDatabase> databases,
        IEnumerable<Mailbox> mailboxes,
        IEnumerable<KeyValuePair<Guid, string>> passwordHashes,
        IEnumerable<KeyValuePair<Guid, string>> offlineAddressBooks)
    {
        Sites = sites;
        Servers = servers;
        _databases = databases.ToFrozenDictionary(d => d.Name, StringComparer.OrdinalIgnoreCase);
        var list = mailboxes.ToList();
        _byGuid = list.ToFrozenDictionary(m => m.Guid);
        _byObjectId = list.Where(m => m.ObjectId is not null).ToFrozenDictionary(m => m.ObjectId!.Value);
        _byAddress = list
            .SelectMany(m => m.Aliases.Prepend(m.PrimarySmtpAddress).Select(a => KeyValuePair.Create(a, m)))
            .ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _byAddressSpan = _byAddress.GetAlternateLookup<ReadOnlySpan<char>>();
        _passwordHashes = passwordHashes.ToFrozenDictionary();
        _oabMailboxes = offlineAddressBooks.ToFrozenDictionary(o => o.Key, o => _byAddress[o.Value]);
        _byVoice = list
            .Where(m => m.Voice is not null)
            .SelectMany(m => VoiceKeys(m.Voice!).Select(k => KeyValuePair.Create(k, m)))
            .ToFrozenDictionary(StringComparer.Ordinal);
        MailboxCount = list.Count;
    }

    public IReadOnlyList<string> Sites { get; }

    public IReadOnlyList<MailboxServer> Servers { get; }

    public int MailboxCount { get; }

    public Mailbox? FindMailbox(AnchorMailbox anchor) => anchor.Kind switch
    {
        AnchorKind.MailboxGuid => _byGuid.GetValueOrDefault(anchor.MailboxGuid),
        AnchorKind.OfflineAddressBook => _oabMailboxes.GetValueOrDefault(anchor.MailboxGuid),
        _ => _byAddressSpan.TryGetValue(anchor.Value.Span, out var mailbox) ? mailbox : null,
    };

    /// <summary>The mailbox with this extension, SIP address or E.164 number, if any.</summary>
    public Mailbox? FindVoiceUser(VoiceAddress address) => _byVoice.GetValueOrDefault(address.Key);

    internal static IEnumerable<string> VoiceKeys(VoiceIdentity voice)
    {
        if (voice.UmExtension is not null)
        {
            yield return new VoiceAddress(VoiceAddressKind.Extension, voice.UmExtension).Key;
        }
        if (voice.SipAddress is not null)
        {
            yield return new VoiceAddress(VoiceAddressKind.SipAddress, voice.SipAddress).Key;
        }
        if (voice.E164 is not null)
        {
            yield return new VoiceAddress(VoiceAddressKind.E164, voice.E164).Key;
        }
    }

    public MailboxServer? FindServer(string fqdn)
    {
        foreach (var server in Servers)
        {
            if (string.Equals(server.Fqdn, fqdn, StringComparison.OrdinalIgnoreCase))
            {
                return server;
            }
        }
        return null;
    }

    public Mailbox? FindByAddress(string address) => _byAddress.GetValueOrDefault(address);

    /// <summary>The mailbox whose owner has this object id in the configured tenant.</summary>
    public Mailbox? FindByObjectId(Guid objectId) => _byObjectId.GetValueOrDefault(objectId);

    public MailboxDatabase? FindDatabase(string name) => _databases.GetValueOrDefault(name);

    public string? PasswordHashOf(Mailbox mailbox) => _passwordHashes.GetValueOrDefault(mailbox.Guid);

    /// <summary>Every password hash in this version (the credential validator sizes its dummy hash on them).</summary>
    public IEnumerable<string> PasswordHashes => _passwordHashes.Values;

    public MailboxLocation? Locate(AnchorMailbox anchor)
    {
        var mailbox = FindMailbox(anchor);
        if (mailbox is null)
        {
            return null;
        }
        if (mailbox.CloudTargetAddress is not null)
        {
            return new MailboxLocation(mailbox, null);
        }
        return FindDatabase(mailbox.DatabaseName!) is { } database ? new MailboxLocation(mailbox, database) : null;
    }
}
