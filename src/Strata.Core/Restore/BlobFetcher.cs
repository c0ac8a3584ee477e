using System.Collections.Concurrent;
using Strata.Repository;

namespace Strata.Restore;

/// <summary>
/// Reads blobs for a restore into reusable buffers, counting the stored bytes fetched. Blobs of
/// all zeros are remembered, so holes are never fetched twice; small blobs are cached because the
/// same small content often appears in many files.
/// </summary>
internal sealed class BlobFetcher
{
    private const long CacheLimit = 8L << 20;
    private const int CacheableSize = 256 << 10;
    private readonly Repository.Repository _repo;
    private readonly ConcurrentDictionary<BlobId, int> _zeroBlobs = new();
    private readonly ConcurrentDictionary<BlobId, byte[]> _cache = new();
    private readonly BufferPool _plaintextBuffers;
    private readonly BufferPool _sealedBuffers;
    private long _cached;
    private long _bytesRead;

    /// <param name="concurrency">How many blobs are in use at once: the buffers kept for reuse.</param>
    public BlobFetcher(Repository.Repository repo, int concurrency)
    {
        _repo = repo;
        int max = repo.Config.Chunker.MaxSize;
        _plaintextBuffers = new BufferPool(max, maxKept: concurrency);
        _sealedBuffers = new BufferPool(Envelope.MaxSealedLength(max), maxKept: concurrency);
    }

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>Length of the blob when it is known to be all zeros, else -1.</summary>
    public int ZeroLength(BlobId id) => _zeroBlobs.TryGetValue(id, out var n) ? n : -1;

    public int LengthOf(BlobId id) => (int)_repo.Locate(id).RawLength;

    /// <summary>The blob's plaintext; dispose the result to give its buffer back.</summary>
    public async ValueTask<FetchedBlob> FetchAsync(BlobId id, CancellationToken ct)
    {
        if (_cache.TryGetValue(id, out var cached)) return new FetchedBlob(cached, cached.Length, null);
        var location = _repo.Locate(id);
        var plaintext = _plaintextBuffers.Rent((int)location.RawLength);
        var sealedBuffer = _sealedBuffers.Rent((int)location.Length);
        int length;
        try
        {
            length = await _repo.ReadBlobAsync(id, sealedBuffer, plaintext, ct).ConfigureAwait(false);
        }
        catch
        {
            _plaintextBuffers.Return(plaintext);
            throw;
        }
        finally
        {
            _sealedBuffers.Return(sealedBuffer);
        }
        Interlocked.Add(ref _bytesRead, location.Length);
        var data = plaintext.AsSpan(0, length);
        if (data.IndexOfAnyExcept((byte)0) < 0)
            _zeroBlobs.TryAdd(id, length);
        else if (length <= CacheableSize && Interlocked.Add(ref _cached, length) < CacheLimit)
            _cache.TryAdd(id, data.ToArray());
        return new FetchedBlob(plaintext, length, _plaintextBuffers);
    }

    /// <summary>A fetched blob's bytes, borrowed from a pool until disposed.</summary>
    /// <remarks>A struct: with the local backend a fetch completes without waiting, and then nothing is allocated for it.</remarks>
    internal readonly struct FetchedBlob(byte[] buffer, int length, BufferPool? owner) : IDisposable
    {
        public ReadOnlyMemory<byte> Data => buffer.AsMemory(0, length);
        public int Length => length;
        public void Dispose() => owner?.Return(buffer);
    }
}
