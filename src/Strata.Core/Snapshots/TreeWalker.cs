using System.Runtime.CompilerServices;
using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>Every entry below a tree, parents before children, with its path as it was backed up.</summary>
public static class TreeWalker
{
    public static async IAsyncEnumerable<(string Path, Node Node)> WalkAsync(Repository.Repository repo, BlobId tree, string prefix = "",
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var root = await repo.LoadTreeAsync(tree, ct).ConfigureAwait(false);
        foreach (var node in root.Nodes)
        {
            var path = prefix + "/" + node.Name;
            yield return (path, node);
            if (node.IsDirectory && node.Subtree is { } sub)
                await foreach (var child in WalkAsync(repo, sub, path, ct).ConfigureAwait(false))
                    yield return child;
        }
    }

    /// <summary>The node at <paramref name="path"/> ("/" or an absolute backed-up path), or null.</summary>
    public static async Task<Node?> FindAsync(Repository.Repository repo, BlobId root, string path, CancellationToken ct = default)
    {
        var tree = await repo.LoadTreeAsync(root, ct).ConfigureAwait(false);
        Node? node = new Node { Name = "/", Type = Node.DirType, Subtree = root };
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node is not { IsDirectory: true, Subtree: { } sub }) return null;
            tree = await repo.LoadTreeAsync(sub, ct).ConfigureAwait(false);
            node = tree.Find(part);
            if (node is null) return null;
        }
        return node;
    }
}
