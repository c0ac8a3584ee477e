using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// The plaintext of recently read blobs, least recently used first out, bounded in bytes: random
/// reads of a served or exported image fetch each blob once while it is hot and memory stays flat
/// however large the repository. Keyed by blob id, so deduplicated blocks share one entry.
/// Concurrent readers of the same missing blob wait for one fetch.
/// </summary>
public sealed class BlockCache(Repository.Repository repo, long capacityBytes)
{
    public const long DefaultCapacity = 64L << 20;

    private readonly object _lock = new();
    private readonly Dictionary<BlobId, LinkedListNode<(BlobId Id, byte[] Data)>> _entries = new();
    private readonly LinkedList<(BlobId Id, byte[] Data)> _recency = new();
    private readonly Dictionary<BlobId, Task<byte[]>> _inFlight = new();
    private long _bytes, _fetchedBytes, _hits, _misses;

    public long CachedBytes { get { lock (_lock) return _bytes; } }
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Stored (sealed) bytes read from the repository so far.</summary>
    public long FetchedBytes => Interlocked.Read(ref _fetchedBytes);

    public Task<byte[]> GetAsync(BlobId id, CancellationToken ct)
    {
        Task<byte[]> fetch;
        lock (_lock)
        {
            if (_entries.TryGetValue(id, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                Interlocked.Increment(ref _hits);
                return Task.FromResult(node.Value.Data);
            }
            if (_inFlight.TryGetValue(id, out var pending)) return pending.WaitAsync(ct);
            Interlocked.Increment(ref _misses);
            // Not bound to one caller's token: other readers may be waiting on the same fetch.
            fetch = FetchAsync(id);
            _inFlight[id] = fetch;
        }
        return fetch.WaitAsync(ct);
    }

    private async Task<byte[]> FetchAsync(BlobId id)
    {
        try
        {
            await Task.Yield();
            var data = await repo.ReadBlobAsync(id).ConfigureAwait(false);
            Interlocked.Add(ref _fetchedBytes, repo.Locate(id).Length);
            lock (_lock)
            {
                if (data.Length <= capacityBytes && !_entries.ContainsKey(id))
                {
                    _entries[id] = _recency.AddFirst((id, data));
                    _bytes += data.Length;
                    while (_bytes > capacityBytes && _recency.Last is { } last)
                    {
                        _recency.RemoveLast();
                        _entries.Remove(last.Value.Id);
                        _bytes -= last.Value.Data.Length;
                    }
                }
            }
            return data;
        }
        finally
        {
            lock (_lock) _inFlight.Remove(id);
        }
    }
}
