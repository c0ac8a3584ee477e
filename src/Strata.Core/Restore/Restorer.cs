using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;
using Strata.Errors;
using Strata.Filtering;
using Strata.Platform;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Restore;

/// <summary>
/// Restores a snapshot below a target directory while walking its trees, so memory does not grow
/// with the number of files. Each directory is made a real directory (a symlink or file in the way
/// is removed, never followed) before anything is created in it; its files go, as one batch, to a
/// pool of workers that write contents and set metadata through the open descriptor; links and
/// special files follow; directory metadata is applied last, deepest first, so directory times
/// survive. With <see cref="RestoreOptions.Delta"/> only what differs is written.
/// </summary>
public sealed class Restorer
{
    private const int QueuedBatches = 32;
    /// <summary>Files from this size on are written past the page cache (<see cref="WriteLargeContentAsync"/>).</summary>
    private const long UncachedWriteMinimum = 1 << 20;
    private readonly Repository.Repository _repo;
    private readonly Snapshot _snapshot;
    private readonly RestoreOptions _options;
    private readonly BlobFetcher _fetcher;
    private readonly List<string> _errors = new();
    private readonly List<string> _warnings = new();
    private readonly bool _isRoot = Posix.EffectiveUid == 0;
    private readonly List<RestoreEntry> _directories = new();
    private readonly Dictionary<(ulong, ulong), string> _firstLinks = new();
    private readonly List<(RestoreEntry Entry, string Existing)> _laterLinks = new();
    private int _targetLength;
    private long _bytesWritten, _filesRestored, _filesUnchanged, _deleted, _verified, _totalBytes;

    public Restorer(Repository.Repository repo, Snapshot snapshot, RestoreOptions options)
    {
        _repo = repo;
        _snapshot = snapshot;
        _options = options;
        _fetcher = new BlobFetcher(repo, options.Workers);
        // Workers block pool threads in synchronous reads and writes, and a large file's worker waits
        // for its write behind, which needs a pool thread of its own: one spare per worker.
        ThreadPoolHeadroom.Ensure(2 * options.Workers + 4);
    }

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);
    /// <summary>Bytes of the files found so far (the total grows while the walk goes on).</summary>
    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    public async Task<RestoreResult> RunAsync(CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        Images.ImageSnapshots.RefuseImage(_snapshot, "strata image restore");
        var target = Path.GetFullPath(_options.Target).TrimEnd('/');
        if (target.Length == 0) target = "/";
        try { Directory.CreateDirectory(target); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot create the target {target}: {e.Message}");
        }
        await _repo.LoadIndexAsync(ct).ConfigureAwait(false);
        var root = await _repo.LoadTreeAsync(_snapshot.Tree, ct, cache: false).ConfigureAwait(false);

        // Restoring into "/" puts /tmp at "/tmp", not "//tmp".
        var prefix = target == "/" ? "" : target;
        _targetLength = prefix.Length;
        var batches = Channel.CreateBounded<List<RestoreEntry>>(new BoundedChannelOptions(QueuedBatches) { SingleWriter = true });
        var workers = Enumerable.Range(0, _options.Workers).Select(_ => Task.Run(() => RestoreBatchesAsync(batches.Reader, ct), ct)).ToArray();
        try
        {
            var top = new PendingDirectory(prefix, null, null) { Created = true };
            if (_options.Delete) DeleteExtraEntries(target, root);
            await WalkAsync(root, top, _options.Includes, batches.Writer, ct).ConfigureAwait(false);
        }
        finally
        {
            batches.Writer.Complete();
            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        foreach (var (entry, existing) in _laterLinks)
            Guard(entry, () => { RemoveExisting(entry.TargetPath); Posix.Link(existing, entry.TargetPath); });
        for (int i = _directories.Count - 1; i >= 0; i--)
        {
            var dir = _directories[i];
            Guard(dir, () => ApplyMetadata(dir));
        }

        return new RestoreResult
        {
            FilesRestored = _filesRestored,
            FilesUnchanged = _filesUnchanged,
            DirectoriesRestored = _directories.Count,
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

    // ---- walking the snapshot --------------------------------------------------------------

    /// <summary>A directory of the snapshot; created on first need, so --include creates only the directories it uses.</summary>
    private sealed class PendingDirectory(string path, Node? node, PendingDirectory? parent)
    {
        public string Path { get; } = path;
        public Node? Node { get; } = node;
        public PendingDirectory? Parent { get; } = parent;
        public bool Created { get; set; }
        public bool Failed { get; set; }
        /// <summary>True when this restore made it: nothing can be in the way inside, which saves a stat per file.</summary>
        public bool Fresh { get; set; }
    }

    private async Task WalkAsync(Tree tree, PendingDirectory directory, PathPatternSet? includes, ChannelWriter<List<RestoreEntry>> batches, CancellationToken ct)
    {
        var files = new List<RestoreEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in tree.Nodes)
        {
            ct.ThrowIfCancellationRequested();
            if (!SafeName.IsSafe(node.Name))
            {
                AddError($"{directory.Path[_targetLength..]}/{node.Name.Replace("\0", "\\0")}: unsafe name in the snapshot, skipped");
                continue;
            }
            var entry = new RestoreEntry(directory.Path + "/" + node.Name, node, _targetLength);
            // Two entries under one name (say a folder and a symlink to elsewhere) would let the second
            // replace the first mid-restore, and the first's metadata then land on the symlink's target.
            if (!seen.Add(node.Name))
            {
                AddError($"{entry.SnapshotPath}: a second entry with this name in the snapshot, skipped");
                continue;
            }
            bool included = includes is null || includes.Matches(entry.SnapshotPath);
            if (node.IsDirectory)
            {
                var child = new PendingDirectory(entry.TargetPath, node, directory);
                if (included && !Ensure(child)) continue;
                Tree? subtree = null;
                if (node.Subtree is { } id)
                {
                    try { subtree = await _repo.LoadTreeAsync(id, ct, cache: false).ConfigureAwait(false); }
                    catch (StrataException e) { AddError($"{entry.SnapshotPath}: {e.Message}"); }
                }
                if (subtree is null) continue;
                if (included && _options.Delete) DeleteExtraEntries(child.Path, subtree);
                await WalkAsync(subtree, child, included ? null : includes, batches, ct).ConfigureAwait(false);
                continue;
            }
            if (!included || !Ensure(directory)) continue;
            if (node.IsFile)
            {
                Interlocked.Add(ref _totalBytes, node.Size);
                if (node.Links > 1)
                {
                    var key = (node.DeviceId, node.Inode);
                    if (_firstLinks.TryGetValue(key, out var first)) { _laterLinks.Add((entry, first)); continue; }
                    _firstLinks[key] = entry.TargetPath;
                }
                files.Add(entry with { ParentIsFresh = directory.Fresh });
            }
            else
            {
                Guard(entry, () => { CreateSpecial(entry); ApplyMetadata(entry); });
            }
        }
        // Workers take a directory's files as one batch: two threads creating files in one
        // directory contend for its lock in the kernel, which measurably slows file creation.
        if (files.Count > 0) await batches.WriteAsync(files, ct).ConfigureAwait(false);
    }

    private bool Ensure(PendingDirectory directory)
    {
        if (directory.Created) return true;
        if (directory.Failed) return false;
        if (directory.Parent is { } parent && !Ensure(parent)) { directory.Failed = true; return false; }
        var entry = new RestoreEntry(directory.Path, directory.Node!, _targetLength);
        if (Guard(entry, () => directory.Fresh = EnsureDirectory(directory.Path)))
        {
            directory.Created = true;
            _directories.Add(entry);
            return true;
        }
        directory.Failed = true;
        return false;
    }

    private async Task RestoreBatchesAsync(ChannelReader<List<RestoreEntry>> batches, CancellationToken ct)
    {
        await foreach (var batch in batches.ReadAllAsync(ct).ConfigureAwait(false))
            foreach (var entry in batch)
            {
                try
                {
                    await RestoreFileAsync(entry, ct).ConfigureAwait(false);
                    if (_options.Verify) VerifyFile(entry);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or StrataException)
                {
                    AddError($"{entry.SnapshotPath}: {IoErrorText.Describe(e)}");
                }
            }
    }

    // ---- directories -----------------------------------------------------------------------

    /// <summary>Makes <paramref name="path"/> a real directory: anything else there (a symlink above all) is removed, never followed. True when it had to be created.</summary>
    private static bool EnsureDirectory(string path)
    {
        if (Posix.TryLStat(path, out var st))
        {
            if (st.Kind == FileKind.Directory) return false;
            File.Delete(path);
        }
        Directory.CreateDirectory(path);
        if (Posix.LStat(path).Kind != FileKind.Directory) throw new IOException($"{path} is not a directory after creating it");
        return true;
    }

    private void DeleteExtraEntries(string directory, Tree tree)
    {
        if (!Directory.Exists(directory)) return;
        foreach (var path in Directory.EnumerateFileSystemEntries(directory))
        {
            if (tree.Find(Path.GetFileName(path)) is not null) continue;
            try
            {
                RemoveExisting(path);
                Interlocked.Increment(ref _deleted);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                AddError($"{path}: cannot delete: {IoErrorText.Describe(e)}");
            }
        }
    }

    // ---- files -----------------------------------------------------------------------------

    private async Task RestoreFileAsync(RestoreEntry item, CancellationToken ct)
    {
        var node = item.Node;
        var content = node.Content ?? [];
        if (_options.Delta && Posix.TryLStat(item.TargetPath, out var existing) && existing.Kind == FileKind.Regular)
        {
            if (existing.Size == node.Size && existing.MtimeNs == node.MtimeNs)
            {
                ApplyMetadata(item);
                Interlocked.Increment(ref _filesUnchanged);
                return;
            }
            if (await DeltaFileWriter.TryUpdateAsync(_repo, _fetcher, item.TargetPath, node, allowInPlace: existing.LinkCount == 1, n => Interlocked.Add(ref _bytesWritten, n), ct).ConfigureAwait(false))
            {
                ApplyMetadata(item);
                Interlocked.Increment(ref _filesRestored);
                return;
            }
        }
        if (!item.ParentIsFresh) RemoveExisting(item.TargetPath);
        // O_CREAT|O_EXCL|O_NOFOLLOW: never follows a symlink that appears at the last moment. Metadata
        // goes through the same descriptor, so it cannot land anywhere but on this file.
        using var handle = Posix.CreateExclusive(item.TargetPath, 0x180);
        await WriteContentAsync(handle, item.TargetPath, content, node.Size, ct).ConfigureAwait(false);
        ApplyMetadata(handle, item);
        Interlocked.Increment(ref _filesRestored);
    }

    private async Task WriteContentAsync(SafeFileHandle handle, string path, List<BlobId> content, long size, CancellationToken ct)
    {
        if (size >= UncachedWriteMinimum)
        {
            await WriteLargeContentAsync(handle, path, content, size, ct).ConfigureAwait(false);
            return;
        }
        long offset = 0, end = 0;
        foreach (var id in content)
        {
            int zeros = _fetcher.ZeroLength(id);
            if (zeros >= 0) { offset += zeros; continue; }
            using var blob = await _fetcher.FetchAsync(id, ct).ConfigureAwait(false);
            var (written, lastEnd) = SparseWriter.Write(handle, blob.Data.Span, offset);
            Interlocked.Add(ref _bytesWritten, written);
            if (lastEnd >= 0) end = lastEnd;
            offset += blob.Length;
        }
        if (offset != size) AddWarning($"content length {offset} differs from the recorded size {size}");
        // A trailing hole needs the size set explicitly; a file written up to its end already has it.
        if (end != offset) RandomAccess.SetLength(handle, offset);
    }

    /// <summary>
    /// Large files go past the page cache (<see cref="UncachedAppendFile"/>): most of a restore's
    /// bytes are in them, and mapping fresh cache pages for them cost a quarter of a restore's CPU
    /// (docs/PERFORMANCE.md, "Writing past the page cache"). Small files keep buffered writes,
    /// which the kernel batches.
    /// </summary>
    private async Task WriteLargeContentAsync(SafeFileHandle handle, string path, List<BlobId> content, long size, CancellationToken ct)
    {
        using var file = UncachedAppendFile.Open(handle, path, sparse: true);
        foreach (var id in content)
        {
            int zeros = _fetcher.ZeroLength(id);
            if (zeros >= 0) { file.AppendZeros(zeros); continue; }
            using var blob = await _fetcher.FetchAsync(id, ct).ConfigureAwait(false);
            file.Append(blob.Data.Span);
        }
        file.Complete();
        Interlocked.Add(ref _bytesWritten, file.BytesWritten);
        if (file.Length != size) AddWarning($"content length {file.Length} differs from the recorded size {size}");
    }

    private void VerifyFile(RestoreEntry item)
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
            AddError($"{item.SnapshotPath}: verification failed: {IoErrorText.Describe(e)}");
        }
    }

    // ---- links, special files, metadata ----------------------------------------------------

    private void CreateSpecial(RestoreEntry item)
    {
        var node = item.Node;
        var path = item.TargetPath;
        if (_options.Delta && node.IsSymlink && Posix.TryLStat(path, out var st) && st.Kind == FileKind.Symlink && Posix.ReadLink(path) == node.LinkTarget)
            return;
        RemoveExisting(path);
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

    private void ApplyMetadata(RestoreEntry item)
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
        Posix.SetTimes(path, AccessTime(node), node.MtimeNs);
    }

    private void ApplyMetadata(SafeFileHandle handle, RestoreEntry item)
    {
        var node = item.Node;
        if (_isRoot) Posix.FChown(handle, node.Uid, node.Gid, item.TargetPath);
        Posix.FChmod(handle, node.Mode, item.TargetPath);
        if (node.Xattrs is { } xattrs)
            foreach (var x in xattrs)
            {
                try { Posix.FSetXattr(handle, x.Name, x.Value, item.TargetPath); }
                catch (PosixException e) { AddWarning($"{item.SnapshotPath}: extended attribute {x.Name} not restored: {e.Message}"); }
            }
        Posix.FSetTimes(handle, AccessTime(node), node.MtimeNs, item.TargetPath);
    }

    private static long AccessTime(Node node) => node.AtimeNs != 0 ? node.AtimeNs : node.MtimeNs;

    private static void RemoveExisting(string path)
    {
        if (!Posix.TryLStat(path, out var st)) return;
        if (st.Kind == FileKind.Directory) Directory.Delete(path, recursive: true);
        else File.Delete(path);
    }


    private bool Guard(RestoreEntry item, Action action)
    {
        try { action(); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StrataException)
        {
            AddError($"{item.SnapshotPath}: {IoErrorText.Describe(e)}");
            return false;
        }
    }

    private void AddError(string message) { lock (_errors) _errors.Add(message); }
    private void AddWarning(string message) { lock (_warnings) _warnings.Add(message); }
}
