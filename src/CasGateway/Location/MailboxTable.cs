using System.Text;

namespace CasGateway.Location;

/// <summary>
/// The mailboxes of one directory version, stored by column (issue 23: a million mailboxes in a few hundred MB):
/// one row per mailbox in file order — GUID, primary address, display name, database name (one shared string per
/// database), password hash as UTF-8 in shared 1 MB blocks — and two open-addressing indexes of row numbers (by
/// GUID, by primary address) that compare against the columns instead of holding keys of their own. The rare
/// parts (aliases, cloud address, object id, voice) sit in a side table of the rows that have them. A
/// <see cref="Mailbox"/> is made when a lookup finds a row; the location cache keeps the ones in use.
/// Filled once by <see cref="DirectoryParser"/>, then only read (by any number of threads).
/// </summary>
internal sealed class MailboxTable
{
    private const int BlockBits = 20;
    private const int BlockSize = 1 << BlockBits;

    /// <summary>Starts fit in 31 bits: 2 GB of hashes, some 20 million mailboxes.</summary>
    private const int MaxBlocks = 1 << (31 - BlockBits);

    private readonly List<Guid> _guids = [];
    private readonly List<string> _addresses = [];
    private readonly List<string?> _displayNames = [];
    private readonly List<string?> _databases = [];
    private readonly List<long> _hashes = [];
    private readonly List<byte[]> _hashBlocks = [];
    private int _hashBlockUsed = BlockSize;
    private readonly Dictionary<string, string> _databaseNames = new(StringComparer.Ordinal);
    private readonly Dictionary<int, Extras> _extras = [];
    private readonly Dictionary<string, int> _aliases = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _aliasSpans;
    private int[] _byGuid = new int[16];
    private int[] _byAddress = new int[16];
    private int _guidCount;
    private int _addressCount;

    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _databaseNameSpans;

    public MailboxTable()
    {
        _aliasSpans = _aliases.GetAlternateLookup<ReadOnlySpan<char>>();
        _databaseNameSpans = _databaseNames.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The extra parts of a mailbox that has any.</summary>
    internal sealed record Extras(IReadOnlyList<string> Aliases, string? CloudTargetAddress, Guid? ObjectId, VoiceIdentity? Voice);

    public int Count => _guids.Count;

    /// <summary>Appends a row (not yet indexed); returns its number.</summary>
    public int Append(Guid guid, string address, string? displayName, string? database, ReadOnlySpan<byte> passwordHash, bool hasPasswordHash, Extras? extras)
    {
        var row = _guids.Count;
        _guids.Add(guid);
        _addresses.Add(address);
        _displayNames.Add(displayName);
        _databases.Add(database is null ? null : Intern(database));
        _hashes.Add(hasPasswordHash ? Store(passwordHash) : -1);
        if (extras is not null)
        {
            _extras[row] = extras;
        }
        return row;
    }

    /// <summary>Indexes a row by its GUID; false when another row has it.</summary>
    public bool IndexGuid(int row)
    {
        if (Find(_byGuid, _guids[row]) >= 0)
        {
            return false;
        }
        if (++_guidCount * 2 > _byGuid.Length)
        {
            _byGuid = Rehash(_byGuid, r => _guids[r].GetHashCode());
        }
        Insert(_byGuid, _guids[row].GetHashCode(), row);
        return true;
    }

    /// <summary>Indexes a row by its primary address; false when the address is another row's address or alias.</summary>
    public bool IndexAddress(int row)
    {
        var address = _addresses[row];
        if (FindAddress(address) >= 0)
        {
            return false;
        }
        if (++_addressCount * 2 > _byAddress.Length)
        {
            _byAddress = Rehash(_byAddress, r => AddressHash(_addresses[r]));
        }
        Insert(_byAddress, AddressHash(address), row);
        return true;
    }

    /// <summary>Indexes an alias of a row; false when the address is another row's address or alias.</summary>
    public bool IndexAlias(int row, string alias) => FindAddress(alias) < 0 && _aliases.TryAdd(alias, row);

    /// <summary>The database name of a row (null for a cloud mailbox).</summary>
    public string? DatabaseOf(int row) => _databases[row];

    /// <summary>The row whose primary address or alias is <paramref name="address"/> (case-insensitive), else -1.</summary>
    public int FindAddress(ReadOnlySpan<char> address)
    {
        var slots = _byAddress;
        var mask = slots.Length - 1;
        for (var i = AddressHash(address) & mask; slots[i] != 0; i = (i + 1) & mask)
        {
            if (address.Equals(_addresses[slots[i] - 1], StringComparison.OrdinalIgnoreCase))
            {
                return slots[i] - 1;
            }
        }
        return _aliasSpans.TryGetValue(address, out var row) ? row : -1;
    }

    /// <summary>The row of the mailbox with this GUID, else -1.</summary>
    public int FindGuid(Guid guid) => Find(_byGuid, guid);

    public Mailbox MailboxAt(int row)
    {
        var extras = _extras.GetValueOrDefault(row);
        return new Mailbox(_guids[row], _addresses[row], extras?.Aliases ?? [], _databases[row], _displayNames[row])
        {
            CloudTargetAddress = extras?.CloudTargetAddress,
            ObjectId = extras?.ObjectId,
            Voice = extras?.Voice,
        };
    }

    public string? PasswordHashAt(int row)
    {
        var at = _hashes[row];
        if (at < 0)
        {
            return null;
        }
        var block = _hashBlocks[(int)(at >> 32) >> BlockBits];
        var start = (int)(at >> 32) & (BlockSize - 1);
        return Encoding.UTF8.GetString(block, start, (int)at);
    }

    /// <summary>Drops the spare capacity left by growing, once every row is in.</summary>
    public void Seal()
    {
        _guids.TrimExcess();
        _addresses.TrimExcess();
        _displayNames.TrimExcess();
        _databases.TrimExcess();
        _hashes.TrimExcess();
        if (_hashBlocks.Count > 0 && _hashBlockUsed < BlockSize)
        {
            Array.Resize(ref System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_hashBlocks)[^1], _hashBlockUsed);
        }
    }

    /// <summary>The one string of a database name given in UTF-8 (allocated the first time only).</summary>
    public string Intern(ReadOnlySpan<byte> database)
    {
        Span<char> chars = database.Length <= 256 ? stackalloc char[database.Length] : new char[database.Length];
        chars = chars[..Encoding.UTF8.GetChars(database, chars)];
        return _databaseNameSpans.TryGetValue(chars, out var shared) ? shared : Intern(new string(chars));
    }

    private string Intern(string database)
    {
        if (!_databaseNames.TryGetValue(database, out var shared))
        {
            _databaseNames[database] = shared = database;
        }
        return shared;
    }

    /// <summary>The hash's place: block-relative start in the high 32 bits (block number above <see cref="BlockBits"/>), UTF-8 length in the low 32.</summary>
    private long Store(ReadOnlySpan<byte> hash)
    {
        var length = hash.Length;
        if (length > BlockSize)
        {
            throw new DirectoryLoadException($"A password hash of {length} bytes is longer than any hash 'CasGateway hash-password' makes.");
        }
        if (_hashBlockUsed + length > BlockSize)
        {
            if (_hashBlocks.Count == MaxBlocks)
            {
                throw new DirectoryLoadException($"The password hashes take more than {MaxBlocks} MB: the directory is too large for the File store (use Gateway:Locator:Kind Sql).");
            }
            _hashBlocks.Add(new byte[BlockSize]);
            _hashBlockUsed = 0;
        }
        var start = ((long)(_hashBlocks.Count - 1) << BlockBits) | (long)_hashBlockUsed;
        hash.CopyTo(_hashBlocks[^1].AsSpan(_hashBlockUsed));
        _hashBlockUsed += length;
        return (start << 32) | (uint)length;
    }

    private int Find(int[] slots, Guid guid)
    {
        var mask = slots.Length - 1;
        for (var i = guid.GetHashCode() & mask; slots[i] != 0; i = (i + 1) & mask)
        {
            if (_guids[slots[i] - 1] == guid)
            {
                return slots[i] - 1;
            }
        }
        return -1;
    }

    private static int AddressHash(ReadOnlySpan<char> address) => string.GetHashCode(address, StringComparison.OrdinalIgnoreCase);

    /// <summary>Slots hold row + 1 (0 is empty); linear probing in a power-of-two table kept at most half full.</summary>
    private static void Insert(int[] slots, int hash, int row)
    {
        var mask = slots.Length - 1;
        var i = hash & mask;
        while (slots[i] != 0)
        {
            i = (i + 1) & mask;
        }
        slots[i] = row + 1;
    }

    private static int[] Rehash(int[] slots, Func<int, int> hashOf)
    {
        var grown = new int[slots.Length * 2];
        foreach (var slot in slots)
        {
            if (slot != 0)
            {
                Insert(grown, hashOf(slot - 1), slot - 1);
            }
        }
        return grown;
    }
}
