using Strata.Filtering;
using Strata.Snapshots;

namespace Strata.Restore;

/// <summary>
/// The entries to restore, parents before children, found by walking a snapshot's trees.
/// <see cref="Item.SnapshotPath"/> is the path as it was backed up; <see cref="Item.TargetPath"/>
/// is where it goes, always built from checked names below the target.
/// </summary>
internal sealed class RestorePlan
{
    public sealed record Item(string TargetPath, Node Node, int Depth, int TargetLength)
    {
        /// <summary>Derived, not stored: a plan holds one item per restored entry, so every byte per item counts.</summary>
        public string SnapshotPath => TargetPath[TargetLength..];
    }

    private int _targetLength;
    private bool _collectContents;

    public List<Item> Items { get; } = new();
    public List<string> Errors { get; } = new();
    /// <summary>For each restored directory, the names the snapshot has in it (for --delete).</summary>
    public Dictionary<string, HashSet<string>> DirectoryContents { get; } = new(StringComparer.Ordinal);

    /// <param name="collectContents">Fill <see cref="DirectoryContents"/> (only --delete needs it).</param>
    public static async Task<RestorePlan> BuildAsync(Repository.Repository repo, Snapshot snapshot, string target, PathPatternSet? includes,
        bool collectContents, CancellationToken ct)
    {
        // Restoring into "/" puts /tmp at "/tmp", not "//tmp".
        var prefix = target == "/" ? "" : target;
        var plan = new RestorePlan { _targetLength = prefix.Length, _collectContents = collectContents };
        var root = await repo.LoadTreeAsync(snapshot.Tree, ct, cache: false).ConfigureAwait(false);
        if (collectContents) plan.DirectoryContents[target] = root.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        await plan.WalkAsync(repo, root, "", prefix, 0, includes, ct).ConfigureAwait(false);
        return plan;
    }

    /// <summary>Adds the entries of <paramref name="tree"/>; returns whether any was added.</summary>
    private async Task<bool> WalkAsync(Repository.Repository repo, Tree tree, string snapshotDir, string targetDir, int depth, PathPatternSet? includes, CancellationToken ct)
    {
        bool any = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in tree.Nodes)
        {
            var snapshotPath = snapshotDir + "/" + node.Name;
            if (!SafeName.IsSafe(node.Name))
            {
                Errors.Add($"{snapshotDir}/{Printable(node.Name)}: unsafe name in the snapshot, skipped");
                continue;
            }
            // Two entries under one name (say a folder and a symlink to elsewhere) would let the second
            // replace the first mid-restore, and the first's metadata then land on the symlink's target.
            if (!seen.Add(node.Name))
            {
                Errors.Add($"{snapshotPath}: a second entry with this name in the snapshot, skipped");
                continue;
            }
            var targetPath = targetDir + "/" + node.Name;
            bool included = includes is null || includes.Matches(snapshotPath);
            if (node.IsDirectory)
            {
                var item = new Item(targetPath, node, depth, _targetLength);
                int index = Items.Count;
                Items.Add(item);
                Tree? subtree = null;
                if (node.Subtree is { } id)
                {
                    try { subtree = await repo.LoadTreeAsync(id, ct, cache: false).ConfigureAwait(false); }
                    catch (Errors.StrataException e) { Errors.Add($"{snapshotPath}: {e.Message}"); }
                }
                bool below = subtree is not null && await WalkAsync(repo, subtree, snapshotPath, targetPath, depth + 1, included ? null : includes, ct).ConfigureAwait(false);
                if (included || below)
                {
                    any = true;
                    if (included && _collectContents) DirectoryContents[targetPath] = subtree?.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal) ?? new();
                }
                else
                {
                    Items.RemoveAt(index);
                }
            }
            else if (included)
            {
                Items.Add(new Item(targetPath, node, depth, _targetLength));
                any = true;
            }
        }
        return any;
    }

    private static string Printable(string name) => name.Replace("\0", "\\0");
}
