using Strata.Repository;

namespace Strata.Mount;

/// <summary>
/// Values by blob id, least recently used evicted first once their sizes add up to more than a byte
/// budget. Concurrent requests for the same missing id share one load, so many readers of one
/// chunk fetch it once. Values are never mutated after loading; a reader may keep using one that
/// was evicted meanwhile.
/// </summary>
internal sealed class LruCache<TValue> where TValue : class
{
    private readonly long _budget;
    private readonly Func<BlobId, (TValue Value, long Size)> _load;
    private readonly object _lock = new();
    private readonly Dictionary<BlobId, LinkedListNode<(BlobId Id, TValue Value, long Size)>> _entries = new();
    private readonly LinkedList<(BlobId Id, TValue Value, long Size)> _recency = new();
    private readonly Dictionary<BlobId, Lazy<(TValue Value, long Size)>> _loading = new();
    private long _bytes;
    private long _hits;
    private long _loads;

    public LruCache(long budget, Func<BlobId, (TValue Value, long Size)> load)
    {
        _budget = budget;
        _load = load;
    }

    public long Bytes { get { lock (_lock) return _bytes; } }
    public long Hits => Interlocked.Read(ref _hits);
    public long Loads => Interlocked.Read(ref _loads);

    /// <summary>Whether the value is cached or being loaded.</summary>
    public bool Contains(BlobId id)
    {
        lock (_lock) return _entries.ContainsKey(id) || _loading.ContainsKey(id);
    }

    public TValue Get(BlobId id)
    {
        Lazy<(TValue Value, long Size)>? loading;
        lock (_lock)
        {
            if (_entries.TryGetValue(id, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                _hits++;
                return node.Value.Value;
            }
            if (!_loading.TryGetValue(id, out loading))
            {
                loading = new Lazy<(TValue, long)>(() => _load(id), LazyThreadSafetyMode.ExecutionAndPublication);
                _loading.Add(id, loading);
            }
        }
        (TValue Value, long Size) loaded;
        try
        {
            loaded = loading.Value;
        }
        catch
        {
            lock (_lock) _loading.Remove(id);
            throw;
        }
        lock (_lock)
        {
            if (_loading.Remove(id))
            {
                _loads++;
                Add(id, loaded.Value, loaded.Size);
            }
        }
        return loaded.Value;
    }

    private void Add(BlobId id, TValue value, long size)
    {
        // A value bigger than the whole budget is handed out but not kept.
        if (size > _budget || _entries.ContainsKey(id)) return;
        _entries[id] = _recency.AddFirst((id, value, size));
        _bytes += size;
        while (_bytes > _budget && _recency.Last is { } oldest)
        {
            _recency.RemoveLast();
            _entries.Remove(oldest.Value.Id);
            _bytes -= oldest.Value.Size;
        }
    }
}
