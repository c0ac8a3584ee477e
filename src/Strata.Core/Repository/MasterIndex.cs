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
    private readonly Dictionary<BlobId, int> _packNumbers = new();
    private readonly HashSet<string> _loadedFiles = new();
    private readonly object _packLock = new();

    public int BlobCount => _blobs.Count;
    public int PackCount { get { lock (_packLock) return _packs.Count; } }

    public bool Contains(BlobId id) => _blobs.ContainsKey(id);

    public bool TryGet(BlobId id, out BlobLocation location) => _blobs.TryGetValue(id, out location);

    public BlobId PackOf(in BlobLocation location) { lock (_packLock) return _packs[location.PackNumber]; }

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
        lock (_packLock)
        {
            if (!_packNumbers.TryGetValue(pack, out number))
            {
                number = _packs.Count;
                _packs.Add(pack);
                _packNumbers.Add(pack, number);
            }
        }
        foreach (var e in entries)
            _blobs.TryAdd(e.Id, new BlobLocation(number, e.Offset, e.Length, e.RawLength, e.Type));
    }
}
