using System.Collections.Concurrent;

namespace Strata.Storage;

/// <summary>
/// Range reads of packs from an object store cost a request each, and a restore reads blob after
/// blob, mostly in the order they were written. This cache fetches aligned segments of a pack
/// (one request for many blobs) and keeps the most recent few in memory. Safe only for objects that
/// never change (content-addressed packs, FORMAT.md I4). Concurrent readers of one segment share
/// one fetch; a failed fetch is forgotten, so the next reader tries again.
/// </summary>
internal sealed class PackSegmentCache(int segmentSize, int capacity, Func<string, long, int, CancellationToken, Task<byte[]>> fetch)
{
    private readonly ConcurrentDictionary<(string Name, long Index), Lazy<Task<byte[]>>> _segments = new();
    private readonly ConcurrentQueue<(string Name, long Index)> _order = new();

    public int SegmentSize => segmentSize;

    /// <summary>Segments fetched so far (for tests and figures).</summary>
    public int Fetches => Volatile.Read(ref _fetches);
    private int _fetches;

    /// <summary>
    /// Copies the bytes at <paramref name="offset"/> into <paramref name="destination"/> from cached
    /// segments; false when the object ends before the range does.
    /// </summary>
    public async Task<bool> TryReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct)
    {
        int done = 0;
        while (done < destination.Length)
        {
            long position = offset + done;
            long index = position / segmentSize;
            var segment = await GetSegmentAsync(name, index, ct).ConfigureAwait(false);
            int within = (int)(position - index * segmentSize);
            if (within >= segment.Length) return false;
            int n = Math.Min(destination.Length - done, segment.Length - within);
            segment.AsMemory(within, n).CopyTo(destination[done..]);
            done += n;
            if (segment.Length < segmentSize && done < destination.Length) return false; // the last segment ended
        }
        return true;
    }

    private async Task<byte[]> GetSegmentAsync(string name, long index, CancellationToken ct)
    {
        var key = (name, index);
        var lazy = _segments.GetOrAdd(key, k => new Lazy<Task<byte[]>>(() => FetchAsync(k)));
        try
        {
            return await lazy.Value.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            _segments.TryRemove(new KeyValuePair<(string, long), Lazy<Task<byte[]>>>(key, lazy));
            throw;
        }
    }

    private Task<byte[]> FetchAsync((string Name, long Index) key)
    {
        Interlocked.Increment(ref _fetches);
        Evict();
        _order.Enqueue(key);
        // Not the caller's token: other readers may wait on this fetch after the first one gave up.
        return fetch(key.Name, key.Index * segmentSize, segmentSize, CancellationToken.None);
    }

    private void Evict()
    {
        while (_segments.Count >= capacity && _order.TryDequeue(out var oldest))
            _segments.TryRemove(oldest, out _);
    }
}
