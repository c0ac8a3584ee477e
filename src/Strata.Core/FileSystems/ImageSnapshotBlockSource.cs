using System.Buffers;
using Strata.Errors;
using Strata.Images;
using Strata.Snapshots;

namespace Strata.FileSystems;

/// <summary>
/// An image snapshot read at random offsets straight from the repository: each read fetches only
/// the blocks of the block map it touches (several at once), zero blocks cost nothing, and a small
/// LRU cache of decoded blocks keeps the file system's metadata reads (superblock, inode tables,
/// directories, extent nodes: small reads inside a block) from fetching the same blob again and
/// again, while whole blocks of bulk reads go straight into the caller's buffer.
/// Memory is bounded by the cache (<see cref="CacheBytes"/>) plus the blocks in flight.
/// </summary>
public sealed class ImageSnapshotBlockSource : IBlockSource
{
    public const long CacheBytes = 32L << 20;
    private const int FetchConcurrency = 4;

    private readonly Repository.Repository _repo;
    private readonly BlockMap _map;
    private readonly int _cacheBlocks;
    private readonly Dictionary<int, LinkedListNode<(int Block, byte[] Data)>> _cache = new();
    private readonly LinkedList<(int Block, byte[] Data)> _recent = new();
    private long _bytesFetched;

    private ImageSnapshotBlockSource(Repository.Repository repo, BlockMap map, string description)
    {
        _repo = repo;
        _map = map;
        Description = description;
        _cacheBlocks = (int)Math.Max(16, CacheBytes / map.BlockSize);
    }

    public string Description { get; }

    public long Length => _map.ImageSize;

    /// <summary>Plaintext bytes of blocks fetched from the repository so far.</summary>
    public long BytesFetched => Interlocked.Read(ref _bytesFetched);

    /// <summary>Loads the snapshot's block map (the repository's index must be loaded).</summary>
    public static async Task<ImageSnapshotBlockSource> OpenAsync(Repository.Repository repo, Snapshot snapshot, CancellationToken ct)
    {
        var map = await ImageSnapshots.LoadMapAsync(repo, snapshot, ct).ConfigureAwait(false);
        return new ImageSnapshotBlockSource(repo, map, $"image snapshot {snapshot.Id.ToShortString()} ({snapshot.Image?.Name})");
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        BlockSourceReads.CheckRange(this, offset, buffer.Length, "data");
        if (buffer.Length == 0) return;
        int first = (int)(offset / _map.BlockSize);
        int last = (int)((offset + buffer.Length - 1) / _map.BlockSize);
        if (first == last)
        {
            await CopyBlockAsync(first, offset, buffer, ct).ConfigureAwait(false);
            return;
        }
        await Parallel.ForAsync(first, last + 1, new ParallelOptions { MaxDegreeOfParallelism = FetchConcurrency, CancellationToken = ct },
            async (block, token) => await CopyBlockAsync(block, offset, buffer, token).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>Copies the part of <paramref name="block"/> that falls inside the read at <paramref name="offset"/>.</summary>
    private async ValueTask CopyBlockAsync(int block, long offset, Memory<byte> buffer, CancellationToken ct)
    {
        long blockStart = _map.OffsetOf(block);
        long from = Math.Max(offset, blockStart);
        long to = Math.Min(offset + buffer.Length, blockStart + _map.LengthOf(block));
        var destination = buffer.Slice((int)(from - offset), (int)(to - from));
        var id = _map.Blocks[block];
        if (id.IsZero)
        {
            destination.Span.Clear();
            return;
        }
        if (from == blockStart && to == blockStart + _map.LengthOf(block) && !IsCached(block))
        {
            // A whole block of a bulk read (file contents): decrypted straight into the caller's
            // buffer and not cached, so streaming a large file allocates nothing per block.
            var location = _repo.Locate(id);
            if (location.RawLength != destination.Length)
                throw new CorruptDataException($"{Description}: block {block} (blob {id.ToShortString()}) holds {location.RawLength} bytes where {destination.Length} were expected");
            var sealedBuffer = ArrayPool<byte>.Shared.Rent((int)location.Length);
            try { await _repo.ReadBlobAsync(id, sealedBuffer, destination, ct).ConfigureAwait(false); }
            finally { ArrayPool<byte>.Shared.Return(sealedBuffer); }
            Interlocked.Add(ref _bytesFetched, destination.Length);
            return;
        }
        var data = await BlockAsync(block, ct).ConfigureAwait(false);
        data.AsSpan((int)(from - blockStart), (int)(to - from)).CopyTo(destination.Span);
    }

    private bool IsCached(int block)
    {
        lock (_cache) return _cache.ContainsKey(block);
    }

    private async ValueTask<byte[]> BlockAsync(int block, CancellationToken ct)
    {
        lock (_cache)
        {
            if (_cache.TryGetValue(block, out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
                return node.Value.Data;
            }
        }
        var id = _map.Blocks[block];
        var data = await _repo.ReadBlobAsync(id, ct).ConfigureAwait(false);
        if (data.Length != _map.LengthOf(block))
            throw new CorruptDataException($"{Description}: block {block} (blob {id.ToShortString()}) holds {data.Length} bytes where {_map.LengthOf(block)} were expected");
        Interlocked.Add(ref _bytesFetched, data.Length);
        lock (_cache)
        {
            if (!_cache.ContainsKey(block))
            {
                _cache[block] = _recent.AddFirst((block, data));
                if (_cache.Count > _cacheBlocks)
                {
                    _cache.Remove(_recent.Last!.Value.Block);
                    _recent.RemoveLast();
                }
            }
        }
        return data;
    }
}
