using Strata.Errors;
using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// An image at one point in time: its size, its fixed block size and, for every block, the id of
/// the data blob holding it, or the zero id (<see cref="BlobId.IsZero"/>) for a block that reads
/// as zeros and is not stored (docs/FORMAT.md, "Block maps"). The last block may be short.
/// </summary>
public sealed class BlockMap
{
    public const int MinBlockSize = 4 << 10;
    public const int MaxBlockSize = 4 << 20;

    /// <summary>
    /// 64 KiB, chosen by benchmark (docs/PERFORMANCE.md, "Image block size"): qemu's dirty bitmaps
    /// track 64 KiB clusters, so a dirty cluster costs exactly one block; larger blocks read and
    /// store more per small scattered write, smaller ones multiply index entries and hashing calls.
    /// </summary>
    public const int DefaultBlockSize = 64 << 10;

    public BlockMap(long imageSize, int blockSize)
    {
        ValidateBlockSize(blockSize);
        if (imageSize < 0) throw new ArgumentOutOfRangeException(nameof(imageSize));
        long count = (imageSize + blockSize - 1) / blockSize;
        if (count > int.MaxValue) throw new UsageException($"an image of {imageSize} bytes has too many blocks of {blockSize} bytes; use a larger --block-size");
        ImageSize = imageSize;
        BlockSize = blockSize;
        Blocks = new BlockTable((int)count);
    }

    public long ImageSize { get; }
    public int BlockSize { get; }
    public BlockTable Blocks { get; }
    public int BlockCount => Blocks.Length;

    public long OffsetOf(int block) => (long)block * BlockSize;

    public int LengthOf(int block) => (int)Math.Min(BlockSize, ImageSize - OffsetOf(block));

    /// <summary>Bytes in blocks that hold data (not the zero id).</summary>
    public long DataBytes
    {
        get
        {
            long n = 0;
            foreach (var (b, _) in Blocks.DataBlocks()) n += LengthOf(b);
            return n;
        }
    }

    /// <summary>The blocks whose content differs between this map and <paramref name="other"/> (blocks one image lacks count as different).</summary>
    public BlockSet Difference(BlockMap other)
    {
        if (other.BlockSize != BlockSize) throw new UsageException($"block maps with different block sizes ({BlockSize} and {other.BlockSize}) cannot be compared block by block");
        var set = new BlockSet(BlockCount);
        for (int s = 0; s < Blocks.SegmentCount; s++)
        {
            // Segments shared with the other map (unchanged since it) or zero in both hold no difference.
            if (ImageSize == other.ImageSize && Blocks.SharesSegment(other.Blocks, s)) continue;
            int first = s * BlockMapFormat.BlocksPerSegment, end = first + Blocks.SegmentLength(s);
            for (int b = first; b < end; b++)
                if (b >= other.BlockCount || other.Blocks[b] != Blocks[b] || (ImageSize != other.ImageSize && b == other.BlockCount - 1)) set.Add(b);
        }
        return set;
    }

    public static void ValidateBlockSize(int blockSize)
    {
        if (blockSize < MinBlockSize || blockSize > MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
            throw new UsageException($"block size must be a power of two from {MinBlockSize >> 10} KiB to {MaxBlockSize >> 20} MiB, got {blockSize}");
    }
}
