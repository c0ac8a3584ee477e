using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Prune;

namespace Strata.Cli.Commands;

internal static class PruneCommand
{
    public static readonly Option<string> MaxUnused = new("--max-unused") { Description = "Repack packs whose unused share exceeds this (default 5%)", DefaultValueFactory = _ => "5%" };
    public static readonly Option<string?> MaxRepackSize = new("--max-repack-size") { Description = "Read at most this much for repacking in one run, e.g. 2G (default: no limit)" };
    public static readonly Option<string> Grace = new("--grace") { Description = "Delete condemned packs no sooner than this after they were condemned, e.g. 1h (default 0: as soon as the backups running at that time have finished)", DefaultValueFactory = _ => "0s" };
    public static readonly Option<bool> DryRun = new("--dry-run", "-n") { Description = "Only show what would be done" };

    public static Command Create()
    {
        var command = new Command("prune", "Remove data no snapshot references and repack mostly unused packs; safe while backups run")
        {
            MaxUnused, MaxRepackSize, Grace, DryRun,
        };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await RunAsync(ctx, repo, ctx.Parse.GetValue(DryRun), ct);
            return ExitCodes.Ok;
        });
    }

    /// <summary>Also used by <c>forget --prune</c>, which shares this command's options.</summary>
    public static async Task RunAsync(CommandContext ctx, Repository.Repository repo, bool dryRun, CancellationToken ct)
    {
        var options = ReadOptions(ctx) with { DryRun = dryRun };
        string status = "starting";
        var pruner = new Pruner(repo) { OnProgress = s => status = s };
        PruneResult r;
        using (new ProgressLine(ctx.ShowProgress, () => status))
            r = await pruner.RunAsync(options, ct);
        Print(ctx, r, options.DryRun);
    }

    public static void AddTo(Command command)
    {
        command.Options.Add(MaxUnused);
        command.Options.Add(MaxRepackSize);
        command.Options.Add(Grace);
    }

    private static PruneOptions ReadOptions(CommandContext ctx) => new()
    {
        MaxUnused = ArgumentParsers.Fraction(ctx.Parse.GetValue(MaxUnused)!, "--max-unused"),
        MaxRepackSize = ctx.Parse.GetValue(MaxRepackSize) is { } size ? ArgumentParsers.Size(size, "--max-repack-size") : null,
        Grace = ArgumentParsers.Duration(ctx.Parse.GetValue(Grace)!, "--grace"),
    };

    private static void Print(CommandContext ctx, PruneResult r, bool dryRun)
    {
        if (ctx.Json)
        {
            JsonOutput.Line(new JsonObject
            {
                ["message_type"] = "summary",
                ["dry_run"] = dryRun,
                ["snapshots"] = r.Snapshots,
                ["packs_total"] = r.PacksTotal,
                ["bytes_total"] = r.BytesTotal,
                ["used_blobs"] = r.BlobsUsed,
                ["used_bytes"] = r.UsedBytes,
                ["unused_bytes"] = r.UnusedBytes,
                ["packs_condemned"] = r.PacksCondemned,
                ["bytes_condemned"] = r.BytesCondemned,
                ["packs_unindexed"] = r.PacksUnindexed,
                ["packs_repacked"] = r.PacksRepacked,
                ["blobs_repacked"] = r.BlobsRepacked,
                ["bytes_repacked_written"] = r.BytesRepackedWritten,
                ["packs_deleted"] = r.PacksDeleted,
                ["bytes_deleted"] = r.BytesDeleted,
                ["packs_spared"] = r.PacksSpared,
                ["index_files_rewritten"] = r.IndexFilesRewritten,
                ["packs_pending"] = r.PacksPending,
                ["bytes_pending"] = r.BytesPending,
                ["pending_on"] = JsonOutput.Strings(r.PendingOn),
                ["stale_leases_removed"] = JsonOutput.Strings(r.StaleLeasesRemoved),
                ["warnings"] = JsonOutput.Strings(r.Warnings),
            });
            return;
        }
        foreach (var w in r.Warnings) CommandContext.Warn($"warning: {w}");
        foreach (var s in r.StaleLeasesRemoved) ctx.Info($"removed stale lease: {s}");
        ctx.Info($"{r.Snapshots} snapshots use {Terminal.Bytes(r.UsedBytes)} of {Terminal.Bytes(r.BytesTotal)} in {r.PacksTotal} packs; unused: {Terminal.Bytes(r.UnusedBytes)}");
        var verb = dryRun ? "would condemn" : "condemned";
        ctx.Info($"{verb} {r.PacksCondemned} packs ({Terminal.Bytes(r.BytesCondemned)}): {r.PacksRepacked} repacked, {r.PacksUnindexed} left by interrupted backups" +
                 (dryRun ? "" : $"; {r.BlobsRepacked} blobs copied ({Terminal.Bytes(r.BytesRepackedWritten)} written)"));
        if (dryRun) return;
        ctx.Info($"deleted {r.PacksDeleted} packs ({Terminal.Bytes(r.BytesDeleted)}), rewrote {r.IndexFilesRewritten} index files" +
                 (r.PacksSpared > 0 ? $"; kept {r.PacksSpared} condemned packs that snapshots saved meanwhile need" : ""));
        if (r.PacksPending > 0)
            ctx.Info($"{r.PacksPending} condemned packs ({Terminal.Bytes(r.BytesPending)}) will be deleted by a later prune, once these have finished: {string.Join("; ", r.PendingOn)}");
    }
}
