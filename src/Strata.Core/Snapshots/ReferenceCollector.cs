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
        var frontier = snapshots.Select(s => s.Tree).Where(used.Add).ToList();
        long treesRead = 0;
        while (frontier.Count > 0)
        {
            var next = new List<BlobId>();
            await Parallel.ForEachAsync(frontier, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (id, token) =>
            {
                var tree = await repo.LoadTreeAsync(id, token, cache: false).ConfigureAwait(false);
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
}
