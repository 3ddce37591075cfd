using CasGateway.Anchoring;

namespace CasGateway.Location;

/// <summary>
/// Resolves an anchor mailbox to the server holding the active copy of its database
/// (mailbox → database → active server). Callers get <see cref="MailboxLocationCache"/>, which decorates the store
/// chosen by <c>Gateway:Locator:Kind</c> (today the embedded directory file, <see cref="DirectoryFileLocator"/>).
/// </summary>
public interface IMailboxLocator
{
    /// <summary>The location, or null when no mailbox matches the anchor.</summary>
    /// <exception cref="LocatorUnavailableException">The store cannot answer right now.</exception>
    ValueTask<MailboxLocation?> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken);

    /// <summary>The mailbox servers the store knows, for the forwarder's destinations.</summary>
    IReadOnlyList<MailboxServer> Servers { get; }

    /// <summary>Signalled when <see cref="Servers"/> or locations may have changed.</summary>
    event Action? Changed;
}

/// <summary>The locator's store could not be reached or failed; the request should be retried later.</summary>
public sealed class LocatorUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
