using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Cli.Commands;

internal static class StatsCommand
{
    public static Command Create()
    {
        var filter = new SnapshotFilterOptions();
        var command = new Command("stats", "Show sizes: logical, stored, deduplication and compression ratios");
        filter.AddTo(command);
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.LoadIndexAsync(ct);
            var f = filter.Read(ctx.Parse);
            var snapshots = (await repo.ListSnapshotsAsync(ct)).Where(s => f is null || f.Matches(s)).ToList();

            var treeTotals = new Dictionary<BlobId, (long Files, long Bytes)>();
            var referenced = new HashSet<BlobId>();
            var trees = new HashSet<BlobId>();
            long logical = 0, files = 0;
            foreach (var s in snapshots)
            {
                if (s.IsImage)
                {
                    // A disk image counts as one file of its non-zero blocks; its block map is metadata like trees.
                    var root = await Images.BlockMapStore.LoadRootAsync(repo, s.Tree, ct);
                    var map = await Images.BlockMapStore.LoadAsync(repo, root, ct);
                    trees.Add(s.Tree);
                    foreach (var segment in root.Segments) trees.Add(segment);
                    foreach (var (_, block) in map.Blocks.DataBlocks()) referenced.Add(block);
                    files++;
                    logical += map.DataBytes;
                    continue;
                }
                var (n, bytes) = await WalkAsync(repo, s.Tree, treeTotals, referenced, trees, ct);
                files += n;
                logical += bytes;
            }
            // Ratios compare file contents only: trees are metadata, which the logical size does not count either.
            long uniqueRaw = 0, uniqueStored = 0, treeStored = 0;
            foreach (var id in referenced)
                if (repo.Index.TryGet(id, out var loc)) { uniqueRaw += loc.RawLength; uniqueStored += loc.Length; }
            foreach (var id in trees)
                if (repo.Index.TryGet(id, out var loc)) treeStored += loc.Length;
            long repositoryBytes = 0;
            foreach (var folder in new[] { Layout.DataFolder, Layout.IndexFolder, Layout.SnapshotsFolder, Layout.KeysFolder })
                await foreach (var obj in repo.Backend.ListAsync(folder, ct)) repositoryBytes += obj.Size;
            repositoryBytes += (await repo.Backend.GetAsync(Layout.Config, ct: ct)).Length;

            double dedup = uniqueRaw > 0 ? (double)logical / uniqueRaw : 1;
            double compression = uniqueStored > 0 ? (double)uniqueRaw / uniqueStored : 1;
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["snapshots_count"] = snapshots.Count,
                    ["total_file_count"] = files,
                    ["total_size"] = logical,
                    ["total_uncompressed_size"] = uniqueRaw,
                    ["total_blob_stored_size"] = uniqueStored,
                    ["stored_bytes"] = repositoryBytes,
                    ["total_blob_count"] = referenced.Count + trees.Count,
                    ["tree_stored_size"] = treeStored,
                    ["index_blob_count"] = repo.Index.BlobCount,
                    ["pack_count"] = repo.Index.PackCount,
                    ["deduplication_ratio"] = Math.Round(dedup, 3),
                    ["compression_ratio"] = Math.Round(compression, 3),
                    ["space_saving_ratio"] = repositoryBytes > 0 ? Math.Round((double)logical / repositoryBytes, 3) : 1,
                });
                return ExitCodes.Ok;
            }
            Console.Out.WriteLine($"snapshots:                 {snapshots.Count}");
            Console.Out.WriteLine($"files (all snapshots):     {files}");
            Console.Out.WriteLine($"logical size:              {Terminal.Bytes(logical)}");
            Console.Out.WriteLine($"unique data, uncompressed: {Terminal.Bytes(uniqueRaw)} in {referenced.Count} blobs");
            Console.Out.WriteLine($"unique data, stored:       {Terminal.Bytes(uniqueStored)} (+ {Terminal.Bytes(treeStored)} of directory metadata in {trees.Count} trees)");
            Console.Out.WriteLine($"repository size:           {Terminal.Bytes(repositoryBytes)} ({repo.Index.PackCount} packs)");
            Console.Out.WriteLine($"deduplication ratio:       {dedup:0.00}x");
            Console.Out.WriteLine($"compression ratio:         {compression:0.00}x");
            return ExitCodes.Ok;
        });
    }

    private static async Task<(long Files, long Bytes)> WalkAsync(Repository.Repository repo, BlobId treeId,
        Dictionary<BlobId, (long, long)> memo, HashSet<BlobId> referenced, HashSet<BlobId> trees, CancellationToken ct)
    {
        if (memo.TryGetValue(treeId, out var known)) return known;
        trees.Add(treeId);
        var tree = await repo.LoadTreeAsync(treeId, ct);
        long files = 0, bytes = 0;
        foreach (var node in tree.Nodes)
        {
            if (node.IsDirectory && node.Subtree is { } sub)
            {
                var (f, b) = await WalkAsync(repo, sub, memo, referenced, trees, ct);
                files += f;
                bytes += b;
            }
            else if (node.IsFile)
            {
                files++;
                bytes += node.Size;
                foreach (var id in node.Content ?? []) referenced.Add(id);
            }
        }
        memo[treeId] = (files, bytes);
        return (files, bytes);
    }
}
