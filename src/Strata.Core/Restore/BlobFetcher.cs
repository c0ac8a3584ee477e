using System.Collections.Concurrent;
using Strata.Repository;

namespace Strata.Restore;

/// <summary>
/// Reads blobs for a restore, counting the stored bytes fetched. Blobs of all zeros are
/// remembered, so holes are never fetched twice; a small cache serves content repeated across files.
/// </summary>
internal sealed class BlobFetcher(Repository.Repository repo)
{
    private const long CacheLimit = 64L << 20;
    private readonly ConcurrentDictionary<BlobId, int> _zeroBlobs = new();
    private readonly ConcurrentDictionary<BlobId, byte[]> _cache = new();
    private long _cached;
    private long _bytesRead;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>Length of the blob when it is known to be all zeros, else -1.</summary>
    public int ZeroLength(BlobId id) => _zeroBlobs.TryGetValue(id, out var n) ? n : -1;

    public int LengthOf(BlobId id) =>
        repo.Index.TryGet(id, out var loc) ? (int)loc.RawLength : throw new Errors.CorruptDataException($"blob {id.ToShortString()} is not in the index");

    public async Task<byte[]> FetchAsync(BlobId id, CancellationToken ct)
    {
        if (_cache.TryGetValue(id, out var cached)) return cached;
        if (repo.Index.TryGet(id, out var location)) Interlocked.Add(ref _bytesRead, location.Length);
        var data = await repo.ReadBlobAsync(id, ct).ConfigureAwait(false);
        if (data.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            _zeroBlobs.TryAdd(id, data.Length);
        }
        else if (Interlocked.Add(ref _cached, data.Length) < CacheLimit)
        {
            _cache.TryAdd(id, data);
        }
        return data;
    }
}
