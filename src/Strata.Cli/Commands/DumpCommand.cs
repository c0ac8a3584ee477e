using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Export;

namespace Strata.Cli.Commands;

internal static class DumpCommand
{
    public static Command Create()
    {
        var snapshot = new Argument<string>("SNAPSHOT") { Description = "Snapshot id (prefix) or 'latest'" };
        var path = new Argument<string?>("PATH") { Description = "Dump only this path (as backed up); entries are named from its last component", Arity = ArgumentArity.ZeroOrOne };
        var format = new Option<string>("--format") { Description = "tar (POSIX pax: owners, modes, times, links, devices, xattrs) or zip (modes and times)", DefaultValueFactory = _ => "tar" };
        format.AcceptOnlyFromAmong("tar", "zip");
        var output = new Option<string?>("--output", "-o") { Description = "Write the archive to FILE (default: standard output)" };
        var filter = new SnapshotFilterOptions();
        var command = new Command("dump", "Write a snapshot, or a path in it, as a tar or zip archive that restores without Strata") { snapshot, path, format, output };
        filter.AddTo(command);
        return command.WithAction(async (ctx, ct) =>
        {
            var archiveFormat = ctx.Parse.GetValue(format) == "zip" ? ArchiveFormat.Zip : ArchiveFormat.Tar;
            var file = ctx.Parse.GetValue(output);
            if (file is null && !Console.IsOutputRedirected)
                throw new UsageException("refusing to write an archive to a terminal: redirect standard output or give --output FILE");
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.LoadIndexAsync(ct);
            var snap = await repo.FindSnapshotAsync(ctx.Parse.GetValue(snapshot)!, filter.Read(ctx.Parse), ct);
            Images.ImageSnapshots.RefuseImage(snap, "strata image restore");

            DumpResult result;
            if (file is null)
            {
                using var stdout = Console.OpenStandardOutput();
                using var buffered = new BufferedStream(stdout, 1 << 20);
                result = await SnapshotDumper.DumpAsync(repo, snap, ctx.Parse.GetValue(path) ?? "/", archiveFormat, buffered, ct);
                buffered.Flush();
            }
            else
            {
                result = await DumpToFileAsync(repo, snap, ctx.Parse.GetValue(path) ?? "/", archiveFormat, file, ct);
            }

            foreach (var skipped in result.Skipped) CommandContext.Warn($"strata dump: skipped {skipped}");
            if (ctx.Json)
                Console.Error.WriteLine(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["snapshot_id"] = snap.Id.ToString(),
                    ["entries"] = result.Entries,
                    ["files"] = result.Files,
                    ["bytes"] = result.Bytes,
                    ["bytes_read"] = result.BytesFetched,
                    ["skipped"] = result.Skipped.Count,
                }.ToJsonString());
            else if (!ctx.Quiet)
                Console.Error.WriteLine($"dumped snapshot {SnapshotView.Describe(snap)}: {result.Entries} entries, {result.Files} files, {result.Bytes} bytes");
            return ExitCodes.Ok;
        });
    }

    /// <summary>Writes beside the target and renames it into place, so a failed dump never leaves a truncated archive under the name asked for.</summary>
    private static async Task<DumpResult> DumpToFileAsync(Repository.Repository repo, Snapshots.Snapshot snap, string path, ArchiveFormat format, string file, CancellationToken ct)
    {
        var full = Path.GetFullPath(file);
        var partial = full + ".partial";
        try
        {
            DumpResult result;
            await using (var stream = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                result = await SnapshotDumper.DumpAsync(repo, snap, path, format, stream, ct);
                stream.Flush(flushToDisk: true);
            }
            File.Move(partial, full, overwrite: true);
            return result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(partial);
            throw new StrataException($"cannot write {file}: {e.Message}");
        }
        catch
        {
            TryDelete(partial);
            throw;
        }
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
