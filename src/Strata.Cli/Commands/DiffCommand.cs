using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Cli.Commands;

internal static class DiffCommand
{
    public static Command Create()
    {
        var first = new Argument<string>("SNAPSHOT1") { Description = "Older snapshot" };
        var second = new Argument<string>("SNAPSHOT2") { Description = "Newer snapshot" };
        var metadata = new Option<bool>("--metadata") { Description = "Also list entries whose metadata alone changed" };
        var command = new Command("diff", "Show what changed between two snapshots (+ added, - removed, M modified, T type changed, U metadata)") { first, second, metadata };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.LoadIndexAsync(ct);
            var a = await repo.FindSnapshotAsync(ctx.Parse.GetValue(first)!, null, ct);
            var b = await repo.FindSnapshotAsync(ctx.Parse.GetValue(second)!, null, ct);
            Images.ImageSnapshots.RefuseImage(a, "strata image diff");
            Images.ImageSnapshots.RefuseImage(b, "strata image diff");
            var counts = new Dictionary<char, long> { ['+'] = 0, ['-'] = 0, ['M'] = 0, ['T'] = 0, ['U'] = 0 };
            long added = 0, removed = 0;
            if (!ctx.Json) ctx.Info($"comparing snapshot {a.Id.ToShortString()} to {b.Id.ToShortString()}:");
            await CompareAsync(repo, a.Tree, b.Tree, "", ctx.Parse.GetValue(metadata), (mark, path, before, after) =>
            {
                counts[mark]++;
                if (mark == '+' && after?.IsFile == true) added += after.Size;
                if (mark == '-' && before?.IsFile == true) removed += before.Size;
                if (ctx.Json) JsonOutput.Line(new JsonObject { ["message_type"] = "change", ["path"] = path, ["modifier"] = mark.ToString() });
                else Console.Out.WriteLine($"{mark}    {path}");
            }, ct);
            if (ctx.Json)
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "statistics",
                    ["source_snapshot"] = a.Id.ToString(),
                    ["target_snapshot"] = b.Id.ToString(),
                    ["added"] = counts['+'], ["removed"] = counts['-'], ["modified"] = counts['M'],
                    ["type_changed"] = counts['T'], ["metadata_changed"] = counts['U'],
                    ["added_bytes"] = added, ["removed_bytes"] = removed,
                });
            else
                Console.Out.WriteLine($"\n{counts['+']} added ({Terminal.Bytes(added)}), {counts['-']} removed ({Terminal.Bytes(removed)}), {counts['M']} modified, {counts['T']} type changed, {counts['U']} metadata only");
            return ExitCodes.Ok;
        });
    }

    private static async Task CompareAsync(Repository.Repository repo, BlobId? left, BlobId? right, string prefix, bool metadata,
        Action<char, string, Node?, Node?> report, CancellationToken ct)
    {
        if (left == right) return; // identical subtrees: the Merkle tree lets us skip them whole
        var l = left is { } li ? await repo.LoadTreeAsync(li, ct) : new Tree();
        var r = right is { } ri ? await repo.LoadTreeAsync(ri, ct) : new Tree();
        var names = l.Nodes.Select(n => n.Name).Union(r.Nodes.Select(n => n.Name)).Order(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var path = prefix + "/" + name;
            var a = l.Find(name);
            var b = r.Find(name);
            if (a is null) { await ReportAllAsync(repo, '+', path, b!, report, ct); continue; }
            if (b is null) { await ReportAllAsync(repo, '-', path, a, report, ct); continue; }
            if (a.Type != b.Type)
            {
                report('T', path, a, b);
                continue;
            }
            if (a.IsDirectory)
            {
                if (metadata && MetadataDiffers(a, b)) report('U', path + "/", a, b);
                await CompareAsync(repo, a.Subtree, b.Subtree, path, metadata, report, ct);
                continue;
            }
            bool contentDiffers = a.IsFile ? !(a.Content ?? []).SequenceEqual(b.Content ?? []) : a.LinkTarget != b.LinkTarget || a.RDev != b.RDev;
            if (contentDiffers) report('M', path, a, b);
            else if (metadata && MetadataDiffers(a, b)) report('U', path, a, b);
        }
    }

    private static async Task ReportAllAsync(Repository.Repository repo, char mark, string path, Node node, Action<char, string, Node?, Node?> report, CancellationToken ct)
    {
        report(mark, node.IsDirectory ? path + "/" : path, mark == '-' ? node : null, mark == '+' ? node : null);
        if (node.IsDirectory && node.Subtree is { } sub)
            await foreach (var (p, n) in TreeWalker.WalkAsync(repo, sub, path, ct))
                report(mark, n.IsDirectory ? p + "/" : p, mark == '-' ? n : null, mark == '+' ? n : null);
    }

    private static bool MetadataDiffers(Node a, Node b) =>
        a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.MtimeNs != b.MtimeNs;
}
