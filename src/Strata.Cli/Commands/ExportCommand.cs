using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Images;

namespace Strata.Cli.Commands;

/// <summary>'strata export': an image snapshot as a standalone raw/qcow2/vhdx/vmdk disk file.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var snapshot = new Argument<string>("SNAPSHOT") { Description = "Image snapshot id (prefix) or 'latest' (with --name: that disk's latest)" };
        var format = new Option<string>("--format", "-f") { Description = "raw (sparse), qcow2, vhdx or vmdk (the last three through qemu-img)", DefaultValueFactory = _ => "raw" };
        format.AcceptOnlyFromAmong([.. ImageExport.Formats]);
        var output = new Option<string>("--output", "-o") { Description = "The disk file to create (never overwritten)", Required = true };
        var name = new Option<string?>("--name") { Description = "Disk name, to resolve 'latest'" };
        var command = new Command("export", "Write an image snapshot as a disk file hypervisors and qemu-img open (P2V, V2V)") { snapshot, format, output, name };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var snap = await ImageSnapshots.FindAsync(repo, ctx.Parse.GetValue(snapshot)!, ctx.Parse.GetValue(name), ct);
            var path = Path.GetFullPath(ctx.Parse.GetValue(output)!);
            var fmt = ctx.Parse.GetValue(format)!;
            var export = new ImageExport(repo, snap);
            ctx.Info($"exporting image snapshot {SnapshotView.Describe(snap)} as {fmt} to {path}");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long size;
            using (new ProgressLine(ctx.ShowProgress, () => ImageProgressView.Render(export.Progress, clock.Elapsed, "exported")))
                size = await export.RunAsync(fmt, path, ct);
            long fileBytes = new FileInfo(path).Length;
            if (ctx.Json)
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["snapshot_id"] = snap.Id.ToString(),
                    ["format"] = fmt,
                    ["output"] = path,
                    ["bytes_total"] = size,
                    ["bytes_fetched"] = export.BytesFetched,
                    ["file_size"] = fileBytes,
                    ["total_duration"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
                });
            else
                ctx.Info($"exported {Terminal.Bytes(size)} as {fmt} to {path}: fetched {Terminal.Bytes(export.BytesFetched)} from the repository in {Terminal.Duration(clock.Elapsed)}");
            return ExitCodes.Ok;
        });
    }
}
