using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Filtering;
using Strata.Restore;

namespace Strata.Cli.Commands;

internal static class RestoreCommand
{
    public static Command Create()
    {
        var snapshot = new Argument<string>("SNAPSHOT") { Description = "Snapshot id (prefix) or 'latest'" };
        var target = new Option<string>("--target", "-t") { Description = "Directory to restore into", Required = true };
        var include = new Option<string[]>("--include", "-i") { Description = "Restore only paths matching PATTERN (repeatable)" };
        var verify = new Option<bool>("--verify") { Description = "Re-read restored files and check them against the snapshot" };
        var delta = new Option<bool>("--delta") { Description = "The target holds another state of this tree: write only what differs" };
        var delete = new Option<bool>("--delete") { Description = "Remove files in the target that the snapshot does not have" };
        var filter = new SnapshotFilterOptions();
        var command = new Command("restore", "Restore a snapshot into a directory") { snapshot, target, include, verify, delta, delete };
        filter.AddTo(command);
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var snap = await repo.FindSnapshotAsync(ctx.Parse.GetValue(snapshot)!, filter.Read(ctx.Parse), ct);
            Images.ImageSnapshots.RefuseImage(snap, "strata image restore");
            var includes = ctx.Parse.Values(include);
            var restorer = new Restorer(repo, snap, new RestoreOptions
            {
                Target = ctx.Parse.GetValue(target)!,
                Includes = includes.Count > 0 ? new PathPatternSet(includes) : null,
                Verify = ctx.Parse.GetValue(verify),
                Delta = ctx.Parse.GetValue(delta),
                Delete = ctx.Parse.GetValue(delete),
            });
            ctx.Info($"restoring snapshot {SnapshotView.Describe(snap)} to {Path.GetFullPath(ctx.Parse.GetValue(target)!)}");
            var clock = Stopwatch.StartNew();
            RestoreResult result;
            try
            {
                using (new ProgressLine(ctx.ShowProgress, () => Render(restorer, clock.Elapsed)))
                    result = await restorer.RunAsync(ct);
            }
            catch (Exception) when (restorer.BytesWritten > 0)
            {
                // Files already written are complete or will be rewritten: a delta restore finishes the job without starting over.
                CommandContext.Warn($"note: {Path.GetFullPath(ctx.Parse.GetValue(target)!)} is partly restored; to finish it, run the restore again with --delta: only files that differ are written");
                throw;
            }

            foreach (var warning in result.Warnings) CommandContext.Warn($"warning: {warning}");
            foreach (var error in result.Errors) CommandContext.Warn($"error: {error}");
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["snapshot_id"] = snap.Id.ToString(),
                    ["files_restored"] = result.FilesRestored,
                    ["files_unchanged"] = result.FilesUnchanged,
                    ["dirs_restored"] = result.DirectoriesRestored,
                    ["entries_deleted"] = result.EntriesDeleted,
                    ["total_bytes"] = result.TotalBytes,
                    ["bytes_read"] = result.BytesRead,
                    ["bytes_written"] = result.BytesWritten,
                    ["files_verified"] = result.FilesVerified,
                    ["errors"] = result.Errors.Count,
                    ["total_duration"] = Math.Round(result.Duration.TotalSeconds, 3),
                });
            }
            else
            {
                ctx.Info($"restored {result.FilesRestored} files ({result.FilesUnchanged} already up to date), {result.DirectoriesRestored} dirs in {Terminal.Duration(result.Duration)}");
                ctx.Info($"read {Terminal.Bytes(result.BytesRead)} from the repository, wrote {Terminal.Bytes(result.BytesWritten)}" +
                    (result.EntriesDeleted > 0 ? $", deleted {result.EntriesDeleted} entries" : "") +
                    (ctx.Parse.GetValue(verify) ? $", verified {result.FilesVerified} files" : ""));
            }
            return result.Errors.Count > 0 ? ExitCodes.Fatal : ExitCodes.Ok;
        });
    }

    private static string Render(Restorer r, TimeSpan elapsed)
    {
        double rate = elapsed.TotalSeconds > 0.5 ? r.BytesWritten / elapsed.TotalSeconds : 0;
        return $"[{Terminal.Duration(elapsed)}] {Terminal.Bytes(r.BytesWritten)} / {Terminal.Bytes(r.TotalBytes)} written, {Terminal.Bytes((long)rate)}/s";
    }
}
