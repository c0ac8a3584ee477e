using Strata.Images;
using Strata.Repository;

namespace Strata.Mount;

/// <summary>
/// A disk image of an image snapshot as a file: a read finds each block it covers through the
/// block map's root and the one segment holding that block (segments are loaded on demand, so a
/// terabyte image costs only the segments visited), answers zeros for unallocated blocks without
/// fetching anything, and copies the rest out of fetched blocks.
/// </summary>
internal sealed class MountedImage(BlockMapFormat.Root root)
{
    public long Length => root.ImageSize;

    /// <summary>Bytes of the root held in memory (its segment ids).</summary>
    public long MemorySize => 64 + (long)root.Segments.Length * BlobId.Size;

    /// <param name="segment">The decoded block ids of a segment, by the segment's blob id.</param>
    /// <param name="fetch">The plaintext of a block's blob.</param>
    public int Read(Span<byte> destination, long offset, Func<BlobId, BlobId[]> segment, Func<BlobId, byte[]> fetch)
    {
        if (offset < 0 || offset >= Length || destination.IsEmpty) return 0;
        int total = (int)Math.Min(destination.Length, Length - offset);
        int done = 0;
        while (done < total)
        {
            long position = offset + done;
            long block = position / root.BlockSize;
            int within = (int)(position % root.BlockSize);
            int n = (int)Math.Min(root.BlockSize - within, total - done);
            int segmentIndex = (int)(block / BlockMapFormat.BlocksPerSegment);
            int blocksInSegment = (int)Math.Min(BlockMapFormat.BlocksPerSegment, BlockCount - (long)segmentIndex * BlockMapFormat.BlocksPerSegment);
            var ids = segment(root.Segments[segmentIndex]);
            if (ids.Length != blocksInSegment)
                throw new Errors.CorruptDataException($"block-map segment {root.Segments[segmentIndex].ToShortString()} holds {ids.Length} blocks where {blocksInSegment} were expected");
            var id = ids[block % BlockMapFormat.BlocksPerSegment];
            if (id.IsZero) destination.Slice(done, n).Clear();
            else
            {
                var data = fetch(id);
                int available = Math.Max(0, Math.Min(n, data.Length - within));
                data.AsSpan(within, available).CopyTo(destination[done..]);
                // A stored block is never shorter than its place in the image; if damage made it so, the rest reads as zeros.
                destination.Slice(done + available, n - available).Clear();
            }
            done += n;
        }
        return total;
    }

    private long BlockCount => (root.ImageSize + root.BlockSize - 1) / root.BlockSize;
}
