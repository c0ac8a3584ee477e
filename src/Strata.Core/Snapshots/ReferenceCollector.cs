using System.Buffers;
using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>
/// Every blob (trees and data) that a set of snapshots references. Each distinct tree is read
/// once, so snapshots that share most of their directories cost little more than one.
/// A tree that cannot be read is an error: whoever deletes data must prove it unreferenced.
/// </summary>
public static class ReferenceCollector
{
    public static async Task<HashSet<BlobId>> CollectAsync(Repository.Repository repo, IEnumerable<Snapshot> snapshots,
        Action<long>? onTreesRead = null, CancellationToken ct = default)
    {
        var used = new HashSet<BlobId>();
        var frontier = new List<BlobId>();
        foreach (var snapshot in snapshots)
        {
            if (snapshot.IsImage) await CollectImageAsync(repo, snapshot, used, ct).ConfigureAwait(false);
            else if (snapshot.Kind is null) { if (used.Add(snapshot.Tree)) frontier.Add(snapshot.Tree); }
            else throw new Errors.CorruptDataException($"snapshot {snapshot.Id.ToShortString()} is of a kind this Strata does not know ('{snapshot.Kind}'): refusing to decide what it uses");
        }
        long treesRead = 0;
        while (frontier.Count > 0)
        {
            var next = new List<BlobId>();
            await Parallel.ForEachAsync(frontier, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (id, token) =>
            {
                var tree = await ReadTreeAsync(repo, id, token).ConfigureAwait(false);
                lock (used)
                {
                    foreach (var node in tree.Nodes)
                    {
                        if (node.Content is { } content) used.UnionWith(content);
                        if (node.Subtree is { } sub && used.Add(sub)) next.Add(sub);
                    }
                }
                onTreesRead?.Invoke(Interlocked.Increment(ref treesRead));
            }).ConfigureAwait(false);
            frontier = next;
        }
        return used;
    }

    /// <summary>An image snapshot uses its block-map root, the root's segments, every block they name, and its changed-extent list (FORMAT.md §8a).</summary>
    private static async Task CollectImageAsync(Repository.Repository repo, Snapshot snapshot, HashSet<BlobId> used, CancellationToken ct)
    {
        if (!used.Add(snapshot.Tree)) return;
        if (snapshot.Image?.Changes is { } changes) used.Add(changes);
        var root = await Images.BlockMapStore.LoadRootAsync(repo, snapshot.Tree, ct).ConfigureAwait(false);
        var map = await Images.BlockMapStore.LoadAsync(repo, root, ct).ConfigureAwait(false);
        used.UnionWith(root.Segments);
        foreach (var (_, block) in map.Blocks.DataBlocks()) used.Add(block);
    }

    /// <summary>Reads a tree through pooled buffers: walking every tree of a repository must not allocate a fresh array per tree.</summary>
    private static async Task<Tree> ReadTreeAsync(Repository.Repository repo, BlobId id, CancellationToken ct)
    {
        var location = repo.Locate(id);
        var sealedBuffer = ArrayPool<byte>.Shared.Rent((int)location.Length);
        var plaintext = ArrayPool<byte>.Shared.Rent((int)location.RawLength);
        try
        {
            int length = await repo.ReadBlobAsync(id, sealedBuffer, plaintext, ct).ConfigureAwait(false);
            return Tree.Deserialize(plaintext.AsSpan(0, length), $"tree {id.ToShortString()}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(sealedBuffer);
            ArrayPool<byte>.Shared.Return(plaintext);
        }
    }
}
