using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Repair;
using Strata.Snapshots;

namespace Strata.Cli.Commands;

internal static class RepairCommand
{
    public static Command Create()
    {
        var command = new Command("repair", "Repair a damaged repository: rebuild the index, rewrite snapshots that reference lost data");
        command.Subcommands.Add(CreateIndex());
        command.Subcommands.Add(CreateSnapshots());
        return command;
    }

    private static Command CreateIndex()
    {
        var readAll = new Option<bool>("--read-all-packs") { Description = "Read every pack whole: verify it and copy the intact blobs out of damaged ones" };
        var command = new Command("index", "Rebuild the index from the packs (packs describe their own contents)") { readAll };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            string status = "starting";
            var rebuilder = new IndexRebuilder(repo) { ReadAllPacks = ctx.Parse.GetValue(readAll), OnProgress = s => status = s };
            IndexRepairResult r;
            using (new ProgressLine(ctx.ShowProgress, () => status))
                r = await rebuilder.RunAsync(ct);
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["packs"] = r.Packs,
                    ["blobs"] = r.Blobs,
                    ["packs_read"] = r.PacksRead,
                    ["packs_added"] = r.PacksAdded,
                    ["packs_damaged"] = r.PacksDamaged,
                    ["blobs_salvaged"] = r.BlobsSalvaged,
                    ["blobs_lost"] = r.BlobsLost,
                    ["index_entries_dropped"] = r.IndexEntriesDropped,
                    ["index_files_written"] = r.IndexFilesWritten,
                    ["index_files_removed"] = r.IndexFilesRemoved,
                    ["problems"] = JsonOutput.Strings(r.Problems),
                });
            }
            else
            {
                foreach (var p in r.Problems) Console.Out.WriteLine(p);
                Console.Out.WriteLine($"index rebuilt: {r.Packs} packs, {r.Blobs} blobs in {r.IndexFilesWritten} index files ({r.PacksRead} packs read, {r.PacksAdded} newly indexed)");
                if (r.PacksDamaged > 0 || r.IndexEntriesDropped > 0)
                    Console.Out.WriteLine("some data is lost: run 'strata repair snapshots' to rewrite the snapshots that reference it");
            }
            return ExitCodes.Ok;
        });
    }

    private static Command CreateSnapshots()
    {
        var ids = new Argument<string[]>("SNAPSHOT") { Description = "Snapshots to repair (id prefix or 'latest'); all when none is given", Arity = ArgumentArity.ZeroOrMore };
        var forget = new Option<bool>("--forget") { Description = "Remove each damaged original once its repaired snapshot is saved" };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Only show what is lost and which snapshots would be rewritten" };
        var command = new Command("snapshots", "Rewrite snapshots that reference lost data: damaged files keep their intact parts and are marked, the rest is kept")
        {
            ids, forget, dryRun,
        };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var wanted = ctx.Parse.GetValue(ids) ?? [];
            var snapshots = new List<Snapshot>();
            if (wanted.Length == 0) snapshots.AddRange(await repo.ListSnapshotsAsync(ct));
            else foreach (var id in wanted) snapshots.Add(await repo.FindSnapshotAsync(id, ct: ct));
            string status = "starting";
            var repairer = new SnapshotRepairer(repo) { ForgetOriginals = ctx.Parse.GetValue(forget), DryRun = ctx.Parse.GetValue(dryRun), OnProgress = s => status = s };
            List<SnapshotRepair> repairs;
            using (new ProgressLine(ctx.ShowProgress, () => status))
                repairs = await repairer.RunAsync(snapshots, ct);
            foreach (var r in repairs)
            {
                if (ctx.Json)
                {
                    JsonOutput.Line(new JsonObject
                    {
                        ["message_type"] = "repaired_snapshot",
                        ["original"] = r.Original.Id.ToString(),
                        ["snapshot_id"] = r.NewSnapshot?.ToString(),
                        ["lost_paths"] = JsonOutput.Strings(r.LostPaths),
                    });
                    continue;
                }
                Console.Out.WriteLine(r.NewSnapshot is { } n
                    ? $"snapshot {r.Original.Id.ToShortString()} repaired as {n.ToShortString()}; lost:"
                    : $"snapshot {r.Original.Id.ToShortString()} would be repaired; lost:");
                foreach (var p in r.LostPaths) Console.Out.WriteLine($"  {p}");
            }
            if (ctx.Json)
                JsonOutput.Line(new JsonObject { ["message_type"] = "summary", ["snapshots"] = snapshots.Count, ["repaired"] = repairs.Count, ["dry_run"] = ctx.Parse.GetValue(dryRun) });
            else
                ctx.Info(repairs.Count == 0 ? $"all {snapshots.Count} snapshots are intact" : $"{repairs.Count} of {snapshots.Count} snapshots reference lost data");
            return ExitCodes.Ok;
        });
    }
}
