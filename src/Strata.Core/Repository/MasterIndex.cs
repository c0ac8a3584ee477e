using System.Collections.Concurrent;

namespace Strata.Repository;

/// <summary>Where a blob lives: pack (by number in <see cref="MasterIndex"/>), offset and sealed length.</summary>
public readonly record struct BlobLocation(int PackNumber, uint Offset, uint Length, uint RawLength, BlobType Type);

/// <summary>
/// The union of every index file: blob id → pack location. Safe for concurrent readers and
/// writers, since backup workers look up and add blobs at the same time.
/// Pack ids are kept once in a side table so each blob entry stays small.
/// </summary>
public sealed class MasterIndex
{
    private readonly ConcurrentDictionary<BlobId, BlobLocation> _blobs = new();
    private readonly List<BlobId> _packs = new();
    // Storage names of the packs, made once per pack: a restore reads tens of thousands of blobs.
    private readonly List<string> _packNames = new();
    private readonly Dictionary<BlobId, int> _packNumbers = new();
    private readonly HashSet<string> _loadedFiles = new();
    private readonly HashSet<BlobId> _condemnedPacks = new();
    private readonly HashSet<BlobId> _droppedPacks = new();
    private bool _anyCondemned;
    private readonly object _packLock = new();

    public int BlobCount => _blobs.Count;
    public int PackCount { get { lock (_packLock) return _packs.Count; } }

    /// <summary>
    /// Whether a writer may rely on the stored copy of a blob: it is indexed in a pack that no
    /// pending garbage collection has condemned. Readers still find condemned copies through
    /// <see cref="TryGet"/>; writers store a fresh copy instead (docs/FORMAT.md, "Garbage collection").
    /// </summary>
    public bool Contains(BlobId id)
    {
        if (!_blobs.TryGetValue(id, out var location)) return false;
        if (!Volatile.Read(ref _anyCondemned)) return true; // the common case, without a lock per chunk
        lock (_packLock) return !_condemnedPacks.Contains(_packs[location.PackNumber]);
    }

    /// <summary>Marks packs that a pending prune will delete; call before adding index files so live copies win.</summary>
    public void Condemn(IEnumerable<BlobId> packs)
    {
        lock (_packLock)
        {
            _condemnedPacks.UnionWith(packs);
            Volatile.Write(ref _anyCondemned, _condemnedPacks.Count > 0);
        }
    }

    /// <summary>
    /// Forgets a pack that turned out to be gone from storage (deleted by a prune after this index
    /// was loaded): its blobs are dropped, and every index file is read again on the next load, so
    /// that copies elsewhere (repacked blobs) are found.
    /// </summary>
    public void DropPack(BlobId pack)
    {
        int number;
        lock (_packLock)
        {
            if (!_packNumbers.TryGetValue(pack, out number) || !_droppedPacks.Add(pack)) return;
            _loadedFiles.Clear();
        }
        foreach (var (id, location) in _blobs)
            if (location.PackNumber == number) _blobs.TryRemove(new KeyValuePair<BlobId, BlobLocation>(id, location));
    }

    public bool IsCondemned(BlobId pack) { lock (_packLock) return _condemnedPacks.Contains(pack); }

    public bool TryGet(BlobId id, out BlobLocation location) => _blobs.TryGetValue(id, out location);

    public BlobId PackOf(in BlobLocation location) { lock (_packLock) return _packs[location.PackNumber]; }

    /// <summary>The storage name of the pack that holds the blob (<see cref="Layout.Pack"/>).</summary>
    public string PackNameOf(in BlobLocation location) { lock (_packLock) return _packNames[location.PackNumber]; }

    public IReadOnlyList<BlobId> Packs { get { lock (_packLock) return _packs.ToArray(); } }

    public IEnumerable<KeyValuePair<BlobId, BlobLocation>> Blobs => _blobs;

    public bool HasLoaded(string indexName) { lock (_packLock) return _loadedFiles.Contains(indexName); }

    public void Add(IndexFile file, string indexName)
    {
        lock (_packLock)
        {
            if (!_loadedFiles.Add(indexName)) return;
        }
        foreach (var (pack, entries) in file.Packs) AddPack(pack, entries);
    }

    public void AddPack(BlobId pack, IReadOnlyList<PackEntry> entries)
    {
        int number;
        bool condemned;
        lock (_packLock)
        {
            if (!_packNumbers.TryGetValue(pack, out number))
            {
                number = _packs.Count;
                _packs.Add(pack);
                _packNames.Add(Layout.Pack(pack));
                _packNumbers.Add(pack, number);
            }
            condemned = _condemnedPacks.Contains(pack);
            if (_droppedPacks.Contains(pack)) return;
        }
        foreach (var e in entries)
        {
            var location = new BlobLocation(number, e.Offset, e.Length, e.RawLength, e.Type);
            if (_blobs.TryAdd(e.Id, location) || condemned) continue;
            // A copy in a live pack replaces one in a condemned pack (repacked blobs).
            var existing = _blobs[e.Id];
            if (IsCondemned(PackOf(existing))) _blobs[e.Id] = location;
        }
    }
}
