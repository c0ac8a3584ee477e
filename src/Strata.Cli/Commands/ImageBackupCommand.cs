using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Images;

namespace Strata.Cli.Commands;

internal static class ImageBackupCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("SOURCE") { Description = "Raw image file, block device, qcow2 file, nbd://HOST:PORT/EXPORT, nbd+unix:///EXPORT?socket=PATH, or a running VM's disk qmp:///QMP.SOCKET?node=NODE (read at one instant through QEMU's QMP monitor)" };
        var name = new Option<string?>("--name") { Description = "Name of the disk: groups its recovery points (default: the source's absolute path or address)" };
        var cbt = new Option<string?>("--cbt") { Description = "Changed-block tracking: qemu-bitmap:NAME reads only blocks a qemu persistent dirty bitmap marks (Strata rotates it after each backup of a qcow2 file or a qmp:// VM)" };
        var blockSize = new Option<string?>("--block-size") { Description = "Block size for a new disk (power of two, 4K..4M; default 64K, or the previous snapshot's)" };
        var tag = new Option<string[]>("--tag") { Description = "Add a tag to the snapshot (repeatable, or comma-separated)" };
        var host = new Option<string?>("--host") { Description = "Host name to record (default: this machine's)" };
        var command = new Command("backup", "Back up a disk image into a new image snapshot (a block map); only new blocks are stored") { source, name, cbt, blockSize, tag, host };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var backup = new ImageBackup(repo, new ImageBackupOptions
            {
                Source = ctx.Parse.GetValue(source)!,
                Name = ctx.Parse.GetValue(name),
                CbtBitmap = ImageCommand.ParseCbt(ctx.Parse.GetValue(cbt)),
                BlockSize = ctx.Parse.GetValue(blockSize) is { } bs ? ImageCommand.ParseBlockSize(bs) : null,
                Tags = ctx.Parse.Values(tag, splitCommas: true),
                Host = ctx.Parse.GetValue(host) ?? Environment.MachineName,
            })
            { OnNote = note => CommandContext.Warn($"note: {note}") };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            ImageBackupResult result;
            using (new ProgressLine(ctx.ShowProgress, () => ImageProgressView.Render(backup.Progress, clock.Elapsed, "read")))
                result = await backup.RunAsync(ct);
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["snapshot_id"] = result.Snapshot.Id.ToString(),
                    ["name"] = result.Snapshot.Image!.Name,
                    ["bytes_total"] = result.BytesTotal,
                    ["bytes_read"] = result.BytesRead,
                    ["bytes_changed"] = result.BytesChanged,
                    ["data_added"] = result.DataAdded,
                    ["block_size"] = result.Snapshot.Image.BlockSize,
                    ["cbt_used"] = !result.FullRead,
                    ["total_duration"] = Math.Round(result.Duration.TotalSeconds, 3),
                });
            }
            else
            {
                ctx.Info($"Image:   {Terminal.Bytes(result.BytesTotal)} ({result.Snapshot.Image!.SourceKind}, {result.Snapshot.Image.BlockSize >> 10} KiB blocks)" +
                    (result.FullRead ? "" : $", changed-block tracking with bitmap '{result.Snapshot.Image.Cbt}'"));
                ctx.Info($"Read {Terminal.Bytes(result.BytesRead)}, changed {Terminal.Bytes(result.BytesChanged)}, added to the repository {Terminal.Bytes(result.DataAdded)} in {Terminal.Duration(result.Duration)}");
                Console.Out.WriteLine($"snapshot {result.Snapshot.Id.ToShortString()} saved");
            }
            return ExitCodes.Ok;
        });
    }
}
