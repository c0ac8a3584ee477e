using System.Buffers;
using System.Collections.Concurrent;
using Strata.Repository;

namespace Strata.Images;

/// <summary>Saves block maps into a repository and loads them back (segments in parallel).</summary>
public static class BlockMapStore
{
    private static readonly BlobId[] ZeroSegment = new BlobId[BlockMapFormat.BlocksPerSegment];

    /// <summary>
    /// Stores the segments, then the root, as metadata blobs (type tree); returns the root's id.
    /// Segments unchanged since they were loaded keep their stored id without being encoded again.
    /// </summary>
    public static BlobId Save(BlobWriter writer, BlockMap map)
    {
        var blocks = map.Blocks;
        var segments = new BlobId[blocks.SegmentCount];
        var zeroSegmentIds = new Dictionary<int, BlobId>();
        for (int s = 0; s < segments.Length; s++)
        {
            if (blocks.StoredId(s) is { } stored && writer.Contains(stored))
            {
                segments[s] = stored;
                continue;
            }
            int length = blocks.SegmentLength(s);
            if (blocks.IsZeroSegment(s))
            {
                if (!zeroSegmentIds.TryGetValue(length, out var zero))
                    zeroSegmentIds[length] = zero = writer.Save(BlobType.Tree, BlockMapFormat.EncodeSegment(ZeroSegment.AsSpan(0, length)), out _);
                segments[s] = zero;
            }
            else
            {
                segments[s] = writer.Save(BlobType.Tree, BlockMapFormat.EncodeSegment(blocks.Segment(s)), out _);
            }
            blocks.RememberStoredId(s, segments[s]);
        }
        return writer.Save(BlobType.Tree, BlockMapFormat.EncodeRoot(map.BlockSize, map.ImageSize, segments), out _);
    }

    public static async Task<BlockMapFormat.Root> LoadRootAsync(Repository.Repository repo, BlobId rootId, CancellationToken ct = default) =>
        BlockMapFormat.DecodeRoot(await repo.ReadBlobAsync(rootId, ct).ConfigureAwait(false), $"block map {rootId.ToShortString()}");

    public static async Task<BlockMap> LoadAsync(Repository.Repository repo, BlobId rootId, CancellationToken ct = default) =>
        await LoadAsync(repo, await LoadRootAsync(repo, rootId, ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    /// <summary>Loads the map of a root the caller has already read (and needs itself, e.g. for its segment ids).</summary>
    public static async Task<BlockMap> LoadAsync(Repository.Repository repo, BlockMapFormat.Root root, CancellationToken ct = default)
    {
        var map = new BlockMap(root.ImageSize, root.BlockSize);
        // The empty regions of a disk share one all-zero segment blob: read it once, not once per region.
        var zeroSegments = new ConcurrentDictionary<BlobId, byte>();
        await Parallel.ForEachAsync(Enumerable.Range(0, root.Segments.Length), new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = 4 }, async (s, token) =>
        {
            var id = root.Segments[s];
            int count = map.Blocks.SegmentLength(s);
            if (count == BlockMapFormat.BlocksPerSegment && zeroSegments.ContainsKey(id))
            {
                map.Blocks.LoadSegment(s, ZeroSegment, id);
                return;
            }
            var bytes = await repo.ReadBlobAsync(id, token).ConfigureAwait(false);
            var ids = ArrayPool<BlobId>.Shared.Rent(count);
            try
            {
                BlockMapFormat.DecodeSegment(bytes, ids.AsSpan(0, count), $"block-map segment {id.ToShortString()}");
                map.Blocks.LoadSegment(s, ids.AsSpan(0, count), id);
                if (count == BlockMapFormat.BlocksPerSegment && map.Blocks.IsZeroSegment(s)) zeroSegments.TryAdd(id, 0);
            }
            finally
            {
                ArrayPool<BlobId>.Shared.Return(ids);
            }
        }).ConfigureAwait(false);
        return map;
    }
}
