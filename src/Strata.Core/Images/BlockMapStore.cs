using Strata.Repository;

namespace Strata.Images;

/// <summary>Saves block maps into a repository and loads them back (segments in parallel).</summary>
public static class BlockMapStore
{
    /// <summary>Stores the segments, then the root, as metadata blobs (type tree); returns the root's id.</summary>
    public static BlobId Save(BlobWriter writer, BlockMap map)
    {
        var segments = new BlobId[BlockMapFormat.SegmentCount(map.BlockCount)];
        for (int s = 0; s < segments.Length; s++)
        {
            int first = s * BlockMapFormat.BlocksPerSegment;
            int count = Math.Min(BlockMapFormat.BlocksPerSegment, map.BlockCount - first);
            segments[s] = writer.Save(BlobType.Tree, BlockMapFormat.EncodeSegment(map.Blocks.AsSpan(first, count)), out _);
        }
        return writer.Save(BlobType.Tree, BlockMapFormat.EncodeRoot(map.BlockSize, map.ImageSize, segments), out _);
    }

    public static async Task<BlockMapFormat.Root> LoadRootAsync(Repository.Repository repo, BlobId rootId, CancellationToken ct = default) =>
        BlockMapFormat.DecodeRoot(await repo.ReadBlobAsync(rootId, ct).ConfigureAwait(false), $"block map {rootId.ToShortString()}");

    public static async Task<BlockMap> LoadAsync(Repository.Repository repo, BlobId rootId, CancellationToken ct = default)
    {
        var root = await LoadRootAsync(repo, rootId, ct).ConfigureAwait(false);
        var map = new BlockMap(root.ImageSize, root.BlockSize);
        await Parallel.ForEachAsync(Enumerable.Range(0, root.Segments.Length), new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = 4 }, async (s, token) =>
        {
            var id = root.Segments[s];
            var bytes = await repo.ReadBlobAsync(id, token).ConfigureAwait(false);
            int first = s * BlockMapFormat.BlocksPerSegment;
            int count = Math.Min(BlockMapFormat.BlocksPerSegment, map.BlockCount - first);
            BlockMapFormat.DecodeSegment(bytes, map.Blocks.AsSpan(first, count), $"block-map segment {id.ToShortString()}");
        }).ConfigureAwait(false);
        return map;
    }
}
