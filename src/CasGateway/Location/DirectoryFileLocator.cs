using CasGateway.Anchoring;

namespace CasGateway.Location;

/// <summary>The embedded locator: answers from the directory file in memory.</summary>
public sealed class DirectoryFileLocator : IMailboxLocator, ILocatorStore, IVoiceDirectory, IObjectIdDirectory
{
    private readonly DirectoryFileSource _source;

    public DirectoryFileLocator(DirectoryFileSource source)
    {
        _source = source;
        _source.Changed += () => Changed?.Invoke();
    }

    public IReadOnlyList<MailboxServer> Servers => _source.Current.Servers;

    public string StoreName => "File " + _source.FilePath;

    public event Action? Changed;

    public ValueTask<MailboxLocation?> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
        => ValueTask.FromResult(_source.Current.Locate(anchor));

    public ValueTask<Mailbox?> FindVoiceUserAsync(VoiceAddress address, CancellationToken cancellationToken)
        => ValueTask.FromResult(_source.Current.FindVoiceUser(address));

    public ValueTask<Mailbox?> FindByObjectIdAsync(Guid objectId, CancellationToken cancellationToken)
        => ValueTask.FromResult(_source.Current.FindByObjectId(objectId));
}
