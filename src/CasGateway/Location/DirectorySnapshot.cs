using System.Collections.Frozen;
using CasGateway.Anchoring;

namespace CasGateway.Location;

/// <summary>An immutable, indexed view of one version of the directory (its mailboxes in a <see cref="MailboxTable"/>).</summary>
public sealed class DirectorySnapshot
{
    private readonly MailboxTable _mailboxes;
    private readonly FrozenDictionary<string, MailboxDatabase> _databases;
    private readonly FrozenDictionary<Guid, int> _byObjectId;
    private readonly FrozenDictionary<Guid, int> _oabMailboxes;
    private readonly FrozenDictionary<string, int> _byVoice;

    internal DirectorySnapshot(
        IReadOnlyList<string> sites,
        IReadOnlyList<MailboxServer> servers,
        IEnumerable<MailboxDatabase> databases,
        MailboxTable mailboxes,
        IEnumerable<KeyValuePair<Guid, int>> objectIds,
        IEnumerable<KeyValuePair<string, int>> voiceKeys,
        IEnumerable<KeyValuePair<Guid, int>> offlineAddressBooks,
        int usualIterations)
    {
        Sites = sites;
        Servers = servers;
        _databases = databases.ToFrozenDictionary(d => d.Name, StringComparer.OrdinalIgnoreCase);
        _mailboxes = mailboxes;
        _byObjectId = objectIds.ToFrozenDictionary();
        _byVoice = voiceKeys.ToFrozenDictionary(StringComparer.Ordinal);
        _oabMailboxes = offlineAddressBooks.ToFrozenDictionary();
        UsualIterations = usualIterations;
    }

    public IReadOnlyList<string> Sites { get; }

    public IReadOnlyList<MailboxServer> Servers { get; }

    public int MailboxCount => _mailboxes.Count;

    /// <summary>The PBKDF2 iteration count most of this version's password hashes use (0 when none has a hash).</summary>
    public int UsualIterations { get; }

    public Mailbox? FindMailbox(AnchorMailbox anchor) => At(anchor.Kind switch
    {
        AnchorKind.MailboxGuid => _mailboxes.FindGuid(anchor.MailboxGuid),
        AnchorKind.OfflineAddressBook => _oabMailboxes.GetValueOrDefault(anchor.MailboxGuid, -1),
        _ => _mailboxes.FindAddress(anchor.Value.Span),
    });

    /// <summary>The mailbox with this extension, SIP address or E.164 number, if any.</summary>
    public Mailbox? FindVoiceUser(VoiceAddress address) => At(_byVoice.GetValueOrDefault(address.Key, -1));

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

    public Mailbox? FindByAddress(string address) => At(_mailboxes.FindAddress(address));

    /// <summary>The mailbox whose owner has this object id in the configured tenant.</summary>
    public Mailbox? FindByObjectId(Guid objectId) => At(_byObjectId.GetValueOrDefault(objectId, -1));

    public MailboxDatabase? FindDatabase(string name) => _databases.GetValueOrDefault(name);

    public string? PasswordHashOf(Mailbox mailbox) => _mailboxes.FindGuid(mailbox.Guid) is var row and >= 0 ? _mailboxes.PasswordHashAt(row) : null;

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

    private Mailbox? At(int row) => row >= 0 ? _mailboxes.MailboxAt(row) : null;
}
