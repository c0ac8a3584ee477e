using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Strata.Errors;
using Strata.Platform;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Restore;

/// <summary>
/// Restores a snapshot below a target directory: directories first (each one checked to be a
/// real directory, never a symlink, before anything is written inside it), file contents in
/// parallel, then links and special files, then metadata from the deepest entry up so that
/// directory times survive. With <see cref="RestoreOptions.Delta"/> only what differs is written.
/// </summary>
public sealed class Restorer
{
    private readonly Repository.Repository _repo;
    private readonly Snapshot _snapshot;
    private readonly RestoreOptions _options;
    private readonly BlobFetcher _fetcher;
    private readonly List<string> _errors = new();
    private readonly List<string> _warnings = new();
    private readonly bool _isRoot = Posix.EffectiveUid == 0;
    private readonly HashSet<string> _createdDirectories = new(StringComparer.Ordinal);
    private long _bytesWritten, _filesRestored, _filesUnchanged, _deleted, _verified, _totalBytes;

    public Restorer(Repository.Repository repo, Snapshot snapshot, RestoreOptions options)
    {
        _repo = repo;
        _snapshot = snapshot;
        _options = options;
        _fetcher = new BlobFetcher(repo);
    }

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);
    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    public async Task<RestoreResult> RunAsync(CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var target = Path.GetFullPath(_options.Target).TrimEnd('/');
        if (target.Length == 0) target = "/";
        try { Directory.CreateDirectory(target); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot create the target {target}: {e.Message}");
        }
        await _repo.LoadIndexAsync(ct).ConfigureAwait(false);
        var plan = await RestorePlan.BuildAsync(_repo, _snapshot, target, _options.Includes, collectContents: _options.Delete, ct).ConfigureAwait(false);
        _errors.AddRange(plan.Errors);

        var directories = new List<RestorePlan.Item>();
        var files = new List<RestorePlan.Item>();
        var others = new List<RestorePlan.Item>();
        var firstLink = new Dictionary<(ulong, ulong), string>();
        var laterLinks = new List<(RestorePlan.Item Item, string Existing)>();
        foreach (var item in plan.Items)
        {
            if (item.Node.IsDirectory) directories.Add(item);
            else if (item.Node.IsFile)
            {
                Interlocked.Add(ref _totalBytes, item.Node.Size);
                if (item.Node.Links > 1)
                {
                    var key = (item.Node.DeviceId, item.Node.Inode);
                    if (firstLink.TryGetValue(key, out var existing)) { laterLinks.Add((item, existing)); continue; }
                    firstLink[key] = item.TargetPath;
                }
                files.Add(item);
            }
            else others.Add(item);
        }

        var readyDirectories = new HashSet<string>(StringComparer.Ordinal) { target };
        foreach (var dir in directories)
            if (Guard(dir, () => EnsureDirectory(dir.TargetPath))) readyDirectories.Add(dir.TargetPath);

        if (_options.Delete) DeleteExtraEntries(plan, readyDirectories);

        // Workers take whole directories, largest first: two threads creating files in one directory
        // contend for its lock in the kernel, which measurably slows file creation.
        var byDirectory = files.Where(f => readyDirectories.Contains(ParentOf(f.TargetPath)))
            .GroupBy(f => ParentOf(f.TargetPath), StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .ToList();
        await Parallel.ForEachAsync(byDirectory, new ParallelOptions { MaxDegreeOfParallelism = _options.Workers, CancellationToken = ct },
            async (group, token) =>
            {
                foreach (var item in group)
                {
                    try
                    {
                        await RestoreFileAsync(item, token).ConfigureAwait(false);
                        ApplyMetadata(item);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or StrataException)
                    {
                        AddError($"{item.SnapshotPath}: {Describe(e)}");
                    }
                }
            }).ConfigureAwait(false);

        foreach (var (item, existing) in laterLinks)
            if (readyDirectories.Contains(ParentOf(item.TargetPath)))
                Guard(item, () => { RemoveExisting(item.TargetPath, keepDirectory: false); Posix.Link(existing, item.TargetPath); });
        foreach (var item in others)
            if (readyDirectories.Contains(ParentOf(item.TargetPath)))
                Guard(item, () => { CreateSpecial(item); ApplyMetadata(item); });
        for (int i = directories.Count - 1; i >= 0; i--)
            if (readyDirectories.Contains(directories[i].TargetPath)) Guard(directories[i], () => ApplyMetadata(directories[i]));

        if (_options.Verify)
            await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = _options.Workers, CancellationToken = ct },
                (item, token) => { VerifyFile(item); return ValueTask.CompletedTask; }).ConfigureAwait(false);

        return new RestoreResult
        {
            FilesRestored = _filesRestored,
            FilesUnchanged = _filesUnchanged,
            DirectoriesRestored = directories.Count,
            EntriesDeleted = _deleted,
            BytesRead = _fetcher.BytesRead,
            BytesWritten = BytesWritten,
            TotalBytes = TotalBytes,
            FilesVerified = _verified,
            Errors = _errors.ToList(),
            Warnings = _warnings.ToList(),
            Duration = clock.Elapsed,
        };
    }

    // ---- directories -----------------------------------------------------------------------

    /// <summary>Makes <paramref name="path"/> a real directory: anything else there (a symlink above all) is removed, never followed.</summary>
    /// <summary>Directories this restore created: nothing can be in the way inside them, which saves a stat per file.</summary>
    private void EnsureDirectory(string path)
    {
        if (Posix.TryLStat(path, out var st))
        {
            if (st.Kind == FileKind.Directory) return;
            File.Delete(path);
        }
        Directory.CreateDirectory(path);
        if (Posix.LStat(path).Kind != FileKind.Directory) throw new IOException($"{path} is not a directory after creating it");
        _createdDirectories.Add(path);
    }

    private void DeleteExtraEntries(RestorePlan plan, HashSet<string> readyDirectories)
    {
        foreach (var (dir, names) in plan.DirectoryContents)
        {
            if (!readyDirectories.Contains(dir)) continue;
            foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
            {
                var name = Path.GetFileName(entry);
                if (names.Contains(name)) continue;
                try
                {
                    RemoveExisting(entry, keepDirectory: false);
                    Interlocked.Increment(ref _deleted);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    AddError($"{entry}: cannot delete: {Describe(e)}");
                }
            }
        }
    }

    // ---- files -----------------------------------------------------------------------------

    private async Task RestoreFileAsync(RestorePlan.Item item, CancellationToken ct)
    {
        var node = item.Node;
        var content = node.Content ?? [];
        if (_options.Delta && Posix.TryLStat(item.TargetPath, out var existing) && existing.Kind == FileKind.Regular)
        {
            if (existing.Size == node.Size && existing.MtimeNs == node.MtimeNs)
            {
                Interlocked.Increment(ref _filesUnchanged);
                return;
            }
            if (await DeltaFileWriter.TryUpdateAsync(_repo, _fetcher, item.TargetPath, node, allowInPlace: existing.LinkCount == 1, n => Interlocked.Add(ref _bytesWritten, n), ct).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _filesRestored);
                return;
            }
        }
        if (!_createdDirectories.Contains(ParentOf(item.TargetPath))) RemoveExisting(item.TargetPath, keepDirectory: false);
        // O_CREAT|O_EXCL|O_NOFOLLOW: never follows a symlink that appears at the last moment. Mode comes with the metadata.
        using var handle = Posix.CreateExclusive(item.TargetPath, 0x180);
        await WriteContentAsync(handle, content, node.Size, ct).ConfigureAwait(false);
        Interlocked.Increment(ref _filesRestored);
    }

    private async Task WriteContentAsync(SafeFileHandle handle, List<BlobId> content, long size, CancellationToken ct)
    {
        long offset = 0, end = 0;
        foreach (var id in content)
        {
            int zeros = _fetcher.ZeroLength(id);
            if (zeros >= 0) { offset += zeros; continue; }
            using var blob = await _fetcher.FetchAsync(id, ct).ConfigureAwait(false);
            var (written, lastEnd) = await SparseWriter.WriteAsync(handle, blob.Data, offset, ct).ConfigureAwait(false);
            Interlocked.Add(ref _bytesWritten, written);
            if (lastEnd >= 0) end = lastEnd;
            offset += blob.Length;
        }
        if (offset != size) AddWarning($"content length {offset} differs from the recorded size {size}");
        // A trailing hole needs the size set explicitly; a file written up to its end already has it.
        if (end != offset) RandomAccess.SetLength(handle, offset);
    }

    private void VerifyFile(RestorePlan.Item item)
    {
        try
        {
            using var handle = File.OpenHandle(item.TargetPath, FileMode.Open, FileAccess.Read);
            long offset = 0;
            byte[] buffer = [];
            foreach (var id in item.Node.Content ?? [])
            {
                int length = _fetcher.LengthOf(id);
                if (buffer.Length < length) buffer = new byte[length];
                int read = RandomAccess.Read(handle, buffer.AsSpan(0, length), offset);
                if (read != length || _repo.Key.ComputeBlobId(buffer.AsSpan(0, length)) != id)
                {
                    AddError($"{item.SnapshotPath}: verification failed at offset {offset}");
                    return;
                }
                offset += length;
            }
            if (RandomAccess.GetLength(handle) != offset) { AddError($"{item.SnapshotPath}: verification failed: size differs"); return; }
            Interlocked.Increment(ref _verified);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StrataException)
        {
            AddError($"{item.SnapshotPath}: verification failed: {Describe(e)}");
        }
    }

    // ---- links, special files, metadata ----------------------------------------------------

    private void CreateSpecial(RestorePlan.Item item)
    {
        var node = item.Node;
        var path = item.TargetPath;
        if (_options.Delta && node.IsSymlink && Posix.TryLStat(path, out var st) && st.Kind == FileKind.Symlink && Posix.ReadLink(path) == node.LinkTarget)
            return;
        RemoveExisting(path, keepDirectory: false);
        switch (node.Type)
        {
            case Node.SymlinkType: Posix.Symlink(node.LinkTarget ?? "", path); break;
            case Node.FifoType: Posix.MkFifo(path, node.Mode); break;
            case Node.CharDeviceType: Posix.MkNod(path, 0x2000 | node.Mode, node.RDev); break;
            case Node.BlockDeviceType: Posix.MkNod(path, 0x6000 | node.Mode, node.RDev); break;
            case Node.SocketType: break; // a socket is recreated by the program that listens on it
            default: AddWarning($"{item.SnapshotPath}: unknown entry type '{node.Type}', skipped"); break;
        }
    }

    private void ApplyMetadata(RestorePlan.Item item)
    {
        var node = item.Node;
        var path = item.TargetPath;
        if (node.Type == Node.SocketType) return;
        // chmod follows symlinks: never let an entry that became a symlink carry the mode to its target.
        if (!node.IsSymlink && Posix.LStat(path).Kind == FileKind.Symlink)
            throw new IOException($"{path} is a symlink now, not the {node.Type} that was restored; metadata not applied");
        if (_isRoot) Posix.LChown(path, node.Uid, node.Gid);
        if (!node.IsSymlink) Posix.Chmod(path, node.Mode);
        if (node.Xattrs is { } xattrs)
            foreach (var x in xattrs)
            {
                try { Posix.SetXattr(path, x.Name, x.Value); }
                catch (PosixException e) { AddWarning($"{item.SnapshotPath}: extended attribute {x.Name} not restored: {e.Message}"); }
            }
        Posix.SetTimes(path, node.AtimeNs, node.MtimeNs);
    }

    private static void RemoveExisting(string path, bool keepDirectory)
    {
        if (!Posix.TryLStat(path, out var st)) return;
        if (st.Kind == FileKind.Directory)
        {
            if (keepDirectory) return;
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }
    }

    private bool Guard(RestorePlan.Item item, Action action)
    {
        try { action(); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StrataException)
        {
            AddError($"{item.SnapshotPath}: {Describe(e)}");
            return false;
        }
    }

    private static string ParentOf(string path) => path[..path.LastIndexOf('/')] is { Length: > 0 } p ? p : "/";

    private static string Describe(Exception e) => e is UnauthorizedAccessException ? "permission denied" : e.Message;

    private void AddError(string message) { lock (_errors) _errors.Add(message); }
    private void AddWarning(string message) { lock (_warnings) _warnings.Add(message); }
}
