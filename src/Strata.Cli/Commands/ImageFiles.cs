using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.FileSystems;
using Strata.FileSystems.Ext4;
using Strata.Platform;
using Strata.Snapshots;

namespace Strata.Cli.Commands;

/// <summary>
/// File-level access to image snapshots ('image ls SNAP --files [PATH]', 'image restore SNAP --files
/// PATH --target DIR'): the ext4 file system inside the snapshot's disk is read straight from the
/// repository through its block map, fetching only the blocks the listing or the files need.
/// </summary>
internal static class ImageFiles
{
    public static async Task<int> ListAsync(CommandContext ctx, Repository.Repository repo, Snapshot snap, string? path, int? partition, bool longFormat, bool recursive, CancellationToken ct)
    {
        var (fs, source, chosen) = await OpenAsync(repo, snap, partition, ct);
        if (!ctx.Json) ctx.Info($"image snapshot {SnapshotView.Describe(snap)}, {Where(chosen)}:");
        Warn(fs);
        string start = "/" + string.Join('/', Ext4FileSystem.SplitPath(path ?? "/"));
        var inode = await fs.LookupAsync(start, ct);
        if (start == "/") start = "";
        int errors = 0;
        void OnError(string message) { errors++; CommandContext.Warn($"error: {message}"); }
        if (inode.Kind != FileKind.Directory)
        {
            await PrintAsync(ctx, fs, start, inode, longFormat, ct);
        }
        else if (path is null || recursive)
        {
            await foreach (var (p, n) in Ext4TreeWalker.WalkAsync(fs, inode, start, OnError, ct)) await PrintAsync(ctx, fs, p, n, longFormat, ct);
        }
        else
        {
            foreach (var entry in await Ext4TreeWalker.EntriesAsync(fs, inode, start, OnError, ct))
            {
                Ext4Inode child;
                try { child = await fs.ReadInodeAsync(entry.Inode, ct); }
                catch (StrataException e) { OnError($"{start}/{entry.Name}: {e.Message}"); continue; }
                await PrintAsync(ctx, fs, start + "/" + entry.Name, child, longFormat, ct);
            }
        }
        if (errors > 0) throw new CorruptFileSystemException($"{errors} damaged entr{(errors == 1 ? "y" : "ies")} in the file system of {source.Description} (listed above)");
        return ExitCodes.Ok;
    }

    public static async Task<int> RestoreAsync(CommandContext ctx, Repository.Repository repo, Snapshot snap, string path, string target, int? partition, CancellationToken ct)
    {
        var (fs, source, chosen) = await OpenAsync(repo, snap, partition, ct);
        ctx.Info($"restoring {path} from image snapshot {SnapshotView.Describe(snap)}, {Where(chosen)}, to {target}");
        Warn(fs);
        long written = 0;
        var restore = new FileLevelRestore(fs, target) { OnBytesWritten = n => Interlocked.Add(ref written, n) };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        FileLevelRestoreResult result;
        using (new ProgressLine(ctx.ShowProgress, () => $"{Terminal.Bytes(Interlocked.Read(ref written))} restored, {Terminal.Bytes(source.BytesFetched)} fetched, {Terminal.Duration(clock.Elapsed)}"))
            result = await restore.RestoreAsync(path, ct);
        foreach (var w in result.Warnings) CommandContext.Warn($"warning: {w}");
        foreach (var e in result.Errors) CommandContext.Warn($"error: {e}");
        if (ctx.Json)
        {
            JsonOutput.Line(new JsonObject
            {
                ["message_type"] = "summary",
                ["snapshot_id"] = snap.Id.ToString(),
                ["partition"] = chosen?.Number,
                ["files_restored"] = result.Files,
                ["dirs_restored"] = result.Directories,
                ["symlinks_restored"] = result.Symlinks,
                ["specials_restored"] = result.Specials,
                ["bytes_written"] = result.BytesWritten,
                ["bytes_fetched"] = source.BytesFetched,
                ["errors"] = result.Errors.Count,
                ["warnings"] = result.Warnings.Count,
                ["total_duration"] = Math.Round(result.Elapsed.TotalSeconds, 3),
            });
        }
        else
        {
            ctx.Info($"restored {result.Files} files, {result.Directories} directories, {result.Symlinks} symlinks, {result.Specials} special files " +
                $"({Terminal.Bytes(result.BytesWritten)} written, {Terminal.Bytes(source.BytesFetched)} fetched) in {Terminal.Duration(result.Elapsed)}");
        }
        if (result.Errors.Count > 0)
            throw new CorruptFileSystemException($"{result.Errors.Count} entr{(result.Errors.Count == 1 ? "y" : "ies")} could not be restored (listed above)");
        return ExitCodes.Ok;
    }

    private static async Task<(Ext4FileSystem, ImageSnapshotBlockSource, Partition?)> OpenAsync(Repository.Repository repo, Snapshot snap, int? partition, CancellationToken ct)
    {
        await repo.LoadIndexAsync(ct);
        var source = await ImageSnapshotBlockSource.OpenAsync(repo, snap, ct);
        var (fs, chosen) = await DiskVolumes.OpenExt4Async(source, partition, ct);
        return (fs, source, chosen);
    }

    private static string Where(Partition? p) => p is null ? "whole disk" : $"partition {p.Number}";

    private static void Warn(Ext4FileSystem fs)
    {
        if (fs.Superblock.NeedsRecovery)
            CommandContext.Warn("note: the file system's journal was not replayed (the image was taken while it was mounted); recent changes may be missing");
    }

    private static async Task PrintAsync(CommandContext ctx, Ext4FileSystem fs, string path, Ext4Inode n, bool longFormat, CancellationToken ct)
    {
        string? link = null;
        if (n.Kind == FileKind.Symlink && (longFormat || ctx.Json))
        {
            try { link = await fs.ReadSymlinkAsync(n, ct); }
            catch (StrataException e) { link = $"? ({e.Message})"; }
        }
        if (ctx.Json)
        {
            JsonOutput.Line(new JsonObject
            {
                ["path"] = path,
                ["name"] = path[(path.LastIndexOf('/') + 1)..],
                ["type"] = Node.TypeOf(n.Kind),
                ["mode"] = n.Permissions,
                ["uid"] = n.Uid,
                ["gid"] = n.Gid,
                ["size"] = n.Size,
                ["mtime"] = n.ModificationTime.ToDateTimeOffset().ToString("o"),
                ["mtime_ns"] = n.ModificationTime.UnixNanoseconds,
                ["inode"] = n.Number,
                ["links"] = n.LinksCount,
                ["link_target"] = link,
            });
            return;
        }
        if (!longFormat) { Console.Out.WriteLine(path); return; }
        var time = n.ModificationTime.ToDateTimeOffset().LocalDateTime;
        Console.Out.WriteLine($"{ModeString(n)} {n.Uid,-8} {n.Gid,-8} {n.Size,12} {time:yyyy-MM-dd HH:mm:ss} {path}{(link is null ? "" : " -> " + link)}");
    }

    private static string ModeString(Ext4Inode n)
    {
        var chars = new char[10];
        chars[0] = n.Kind switch
        {
            FileKind.Directory => 'd', FileKind.Symlink => 'l', FileKind.Fifo => 'p', FileKind.Socket => 's',
            FileKind.CharDevice => 'c', FileKind.BlockDevice => 'b', _ => '-',
        };
        const string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) chars[i + 1] = (n.Mode & (1u << (8 - i))) != 0 ? rwx[i] : '-';
        return new string(chars);
    }
}
