using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Images;

namespace Strata.Cli.Commands;

internal static class ImageRestoreCommand
{
    public static Command Create()
    {
        var snapshot = new Argument<string>("SNAPSHOT") { Description = "Image snapshot id (prefix) or 'latest' (with --name: that disk's latest)" };
        var target = new Option<string>("--target", "-t") { Description = "New raw file, block device, existing qcow2 file, or nbd:// address to write", Required = true };
        var incremental = new Option<bool>("--incremental") { Description = "The target holds another state of this disk: fetch and write only blocks that differ" };
        var cbt = new Option<string?>("--cbt") { Description = "With --incremental: qemu-bitmap:NAME, the target's dirty bitmap since its last backup (else the target is hashed)" };
        var baseSnapshot = new Option<string?>("--base") { Description = "With --cbt on an NBD target: the snapshot the target's bitmap counts from" };
        var name = new Option<string?>("--name") { Description = "Disk name, to resolve 'latest'" };
        var files = new Option<string?>("--files") { Description = "Restore only this file or directory out of the image's ext4 file system into the directory --target (as TARGET/PATH), without restoring the disk" };
        var partition = new Option<int?>("--partition") { Description = "With --files: the partition to read, numbered as Linux does (needed only when several hold ext4)" };
        var live = new Option<bool>("--live") { Description = "Serve the new raw target over NBD at once while a background copy fills it (instant recovery); runs until Ctrl-C/SIGTERM" };
        var serveNbd = new Option<string?>("--serve-nbd") { Description = $"With --live: HOST:PORT or unix:PATH to serve the target on (default {Strata.Nbd.NbdListenAddress.Default})" };
        var command = new Command("restore", "Restore an image snapshot onto a disk (fully, --incremental, or --live while serving it), or with --files single files out of it") { snapshot, target, incremental, cbt, baseSnapshot, name, files, partition, live, serveNbd };
        return command.WithAction(async (ctx, ct) =>
        {
            if (ctx.Parse.GetValue(serveNbd) is not null && !ctx.Parse.GetValue(live)) throw new UsageException("--serve-nbd needs --live");
            if (ctx.Parse.GetValue(live) && (ctx.Parse.GetValue(incremental) || ctx.Parse.GetValue(cbt) is not null))
                throw new UsageException("--live restores into a new file: it cannot be combined with --incremental or --cbt");
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var snap = await ImageSnapshots.FindAsync(repo, ctx.Parse.GetValue(snapshot)!, ctx.Parse.GetValue(name), ct);
            if (ctx.Parse.GetValue(files) is string filesPath)
            {
                if (ctx.Parse.GetValue(incremental) || ctx.Parse.GetValue(cbt) is not null || ctx.Parse.GetValue(baseSnapshot) is not null || ctx.Parse.GetValue(live))
                    throw new UsageException("--files restores files into a directory; --incremental, --cbt, --base and --live apply to whole-disk restores");
                return await ImageFiles.RestoreAsync(ctx, repo, snap, filesPath, ctx.Parse.GetValue(target)!, ctx.Parse.GetValue(partition), ct);
            }
            if (ctx.Parse.GetValue(partition) is not null) throw new UsageException("--partition applies only with --files");
            if (ctx.Parse.GetValue(live))
                return await LiveImageRestoreCommand.RunAsync(ctx, repo, snap, ctx.Parse.GetValue(target)!, ctx.Parse.GetValue(serveNbd) ?? Strata.Nbd.NbdListenAddress.Default, ct);
            var bitmap = ImageCommand.ParseCbt(ctx.Parse.GetValue(cbt));
            bool isIncremental = ctx.Parse.GetValue(incremental);
            if (bitmap is not null && !isIncremental) throw new UsageException("--cbt on a restore needs --incremental");
            var restore = new ImageRestore(repo, snap, new ImageRestoreOptions
            {
                Target = ctx.Parse.GetValue(target)!,
                Incremental = isIncremental,
                TargetBitmap = bitmap,
                Base = ctx.Parse.GetValue(baseSnapshot),
            })
            { OnNote = note => CommandContext.Warn($"note: {note}") };
            ctx.Info($"restoring image snapshot {SnapshotView.Describe(snap)} to {ctx.Parse.GetValue(target)}");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            ImageRestoreResult result;
            try
            {
                using (new ProgressLine(ctx.ShowProgress, () => ImageProgressView.Render(restore.Progress, clock.Elapsed, "written")))
                    result = await restore.RunAsync(ct);
            }
            catch (Exception) when (restore.Progress.BytesDone > 0)
            {
                // Whatever stopped it (Ctrl-C, a full disk, a lost connection), the blocks already
                // written are right: an incremental restore skips them (a dirty bitmap of the
                // target recorded them too), so the user need not start over.
                CommandContext.Warn($"note: {ctx.Parse.GetValue(target)} is partly restored; " + (isIncremental
                    ? "run the same restore again to finish it: only blocks that still differ are written"
                    : "to finish it, run the restore again with --incremental: only blocks that still differ are fetched and written"));
                throw;
            }
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["snapshot_id"] = snap.Id.ToString(),
                    ["mode"] = result.Mode,
                    ["bytes_total"] = result.BytesTotal,
                    ["bytes_fetched"] = result.BytesFetched,
                    ["bytes_written"] = result.BytesWritten,
                    ["bytes_zeroed"] = result.BytesZeroed,
                    ["target_bytes_read"] = result.TargetBytesRead,
                    ["total_duration"] = Math.Round(result.Duration.TotalSeconds, 3),
                });
            }
            else
            {
                ctx.Info($"{result.Mode} restore of {Terminal.Bytes(result.BytesTotal)}: fetched {Terminal.Bytes(result.BytesFetched)} from the repository, " +
                    $"wrote {Terminal.Bytes(result.BytesWritten)}, zeroed {Terminal.Bytes(result.BytesZeroed)}" +
                    (result.TargetBytesRead > 0 ? $", read {Terminal.Bytes(result.TargetBytesRead)} of the target to compare" : "") +
                    $" in {Terminal.Duration(result.Duration)}");
            }
            return ExitCodes.Ok;
        });
    }
}
