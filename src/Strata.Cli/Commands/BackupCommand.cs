using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Strata.Backup;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Filtering;

namespace Strata.Cli.Commands;

internal static class BackupCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH") { Description = "Files and directories to back up", Arity = ArgumentArity.OneOrMore };
        var exclude = new Option<string[]>("--exclude", "-e") { Description = "Exclude paths matching PATTERN (repeatable; * ? ** [..])" };
        var excludeFile = new Option<string[]>("--exclude-file") { Description = "Read exclude patterns from FILE, one per line (repeatable)" };
        var tag = new Option<string[]>("--tag") { Description = "Add a tag to the snapshot (repeatable, or comma-separated)" };
        var host = new Option<string?>("--host") { Description = "Host name to record (default: this machine's)" };
        var parent = new Option<string?>("--parent") { Description = "Compare against this snapshot instead of the latest of the same host and paths" };
        var force = new Option<bool>("--force") { Description = "Read every file, even those unchanged since the parent snapshot" };
        var command = new Command("backup", "Back up files and directories into a new snapshot") { paths, exclude, excludeFile, tag, host, parent, force };
        return command.WithAction(async (ctx, ct) =>
        {
            var patterns = ctx.Parse.Values(exclude);
            var excludes = PathPatternSet.FromFiles(patterns, ctx.Parse.Values(excludeFile));
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var options = new BackupOptions
            {
                Paths = ctx.Parse.GetValue(paths) ?? [],
                Excludes = excludes,
                ExcludePatterns = patterns,
                Tags = ctx.Parse.Values(tag, splitCommas: true),
                Host = ctx.Parse.GetValue(host) ?? Environment.MachineName,
                Parent = ctx.Parse.GetValue(parent),
                Force = ctx.Parse.GetValue(force),
                EstimateTotals = ctx.ShowProgress && Terminal.StderrIsTerminal,
            };
            var archiver = new Archiver(repo, options);
            var clock = Stopwatch.StartNew();
            BackupResult result;
            using (new ProgressLine(ctx.ShowProgress, () => Render(archiver.Progress, clock.Elapsed)))
                result = await archiver.RunAsync(ct);

            foreach (var error in result.Errors) CommandContext.Warn($"error: {error.Path}: {error.Message}");
            var s = result.Summary;
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["snapshot_id"] = result.Snapshot.Id.ToString(),
                    ["files_new"] = s.FilesNew,
                    ["files_changed"] = s.FilesChanged,
                    ["files_unmodified"] = s.FilesUnmodified,
                    ["dirs"] = s.Directories,
                    ["data_blobs"] = s.DataBlobs,
                    ["tree_blobs"] = s.TreeBlobs,
                    ["data_added"] = s.DataAdded,
                    ["total_files_processed"] = s.TotalFilesProcessed,
                    ["total_bytes_processed"] = s.TotalBytesProcessed,
                    ["total_duration"] = Math.Round(result.Duration.TotalSeconds, 3),
                    ["errors"] = result.Errors.Count,
                });
            }
            else
            {
                ctx.Info($"Files:       {s.FilesNew} new, {s.FilesChanged} changed, {s.FilesUnmodified} unmodified");
                ctx.Info($"Dirs:        {s.Directories}");
                ctx.Info($"Added to the repository: {Terminal.Bytes(s.DataAdded)} ({s.DataBlobs} data blobs, {s.TreeBlobs} trees)");
                ctx.Info($"processed {s.TotalFilesProcessed} files, {Terminal.Bytes(s.TotalBytesProcessed)} in {Terminal.Duration(result.Duration)}");
                Console.Out.WriteLine($"snapshot {result.Snapshot.Id.ToShortString()} saved");
            }
            if (result.Errors.Count > 0)
            {
                CommandContext.Warn($"warning: {result.Errors.Count} source file(s) could not be read; the snapshot holds everything else");
                return ExitCodes.PartialBackup;
            }
            return ExitCodes.Ok;
        });
    }

    private static string Render(BackupProgress p, TimeSpan elapsed)
    {
        double rate = elapsed.TotalSeconds > 0.5 ? p.BytesDone / elapsed.TotalSeconds : 0;
        string eta = "";
        if (p.ScanFinished && rate > 0 && p.BytesTotal > p.BytesDone)
            eta = $" ETA {Terminal.Duration(TimeSpan.FromSeconds((p.BytesTotal - p.BytesDone) / rate))}";
        string total = p.ScanFinished ? $" of {p.FilesTotal}" : "";
        string bytesTotal = p.ScanFinished ? $" / {Terminal.Bytes(p.BytesTotal)}" : "";
        string errors = p.ErrorCount > 0 ? $", {p.ErrorCount} errors" : "";
        return $"[{Terminal.Duration(elapsed)}] {p.FilesDone}{total} files, {Terminal.Bytes(p.BytesDone)}{bytesTotal}, {Terminal.Bytes((long)rate)}/s{eta}{errors}  {p.CurrentFile}";
    }
}
