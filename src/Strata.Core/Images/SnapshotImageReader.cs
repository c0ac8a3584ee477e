using Strata.Errors;
using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// Random-access reads of an image snapshot's bytes, straight from its block map: zero blocks are
/// never fetched, data blocks come through a <see cref="BlockCache"/>, so a reader touches only
/// the blobs under the ranges it reads.
/// </summary>
public sealed class SnapshotImageReader(Repository.Repository repo, BlockMap map, string snapshotName, long cacheBytes = BlockCache.DefaultCapacity)
{
    public BlockMap Map { get; } = map;
    public BlockCache Cache { get; } = new(repo, cacheBytes);
    public long Size => Map.ImageSize;

    public bool IsZeroBlock(int block) => Map.Blocks[block].IsZero;

    /// <summary>Copies bytes [<paramref name="offset"/>, +destination.Length) of the image; the range must lie inside it.</summary>
    public async Task ReadAsync(long offset, Memory<byte> destination, CancellationToken ct)
    {
        if (offset < 0 || offset + destination.Length > Size) throw new ArgumentOutOfRangeException(nameof(offset));
        while (destination.Length > 0)
        {
            int block = (int)(offset / Map.BlockSize);
            int within = (int)(offset - Map.OffsetOf(block));
            int n = Math.Min(destination.Length, Map.LengthOf(block) - within);
            if (Map.Blocks[block].IsZero) destination.Span[..n].Clear();
            else (await BlockAsync(block, ct).ConfigureAwait(false)).AsSpan(within, n).CopyTo(destination.Span);
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>The whole content of a data block (a shared cached array: do not modify it).</summary>
    public async Task<byte[]> BlockAsync(int block, CancellationToken ct)
    {
        var id = Map.Blocks[block];
        var data = await Cache.GetAsync(id, ct).ConfigureAwait(false);
        if (data.Length != Map.LengthOf(block))
            throw new CorruptDataException($"block {block} of snapshot {snapshotName} (blob {id.ToShortString()}) holds {data.Length} bytes where {Map.LengthOf(block)} were expected");
        return data;
    }
}
