using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Strata.Errors;
using Strata.FileSystems.Ext4;
using Strata.Platform;
using Strata.Restore;

namespace Strata.FileSystems;

/// <summary>
/// Copies a file or directory tree out of an ext4 file system (read from a disk image or an image
/// snapshot) into a directory: contents with their holes, symlinks, hard links, fifos and devices
/// (devices as root), modes, owners (as root), times to the nanosecond, extended attributes
/// ("user." ones unprivileged, all as root). <c>/etc/hosts</c> lands at <c>TARGET/etc/hosts</c>.
/// Never writes outside the target: names are checked (<see cref="SafeName"/>), everything is
/// created new (O_EXCL|O_NOFOLLOW) inside directories this restore made, and what is already in
/// the target is left alone: the restored path itself must not exist yet, and its parents must be
/// real directories, not symlinks. A damaged file or directory is reported and skipped; the rest is
/// restored. Directories are walked with an explicit stack (a deep or looping tree cannot overflow
/// the call stack; a directory reached twice is an error, as ext4 directories have one parent).
/// </summary>
public sealed class FileLevelRestore
{
    private const int MaxDepth = 2048;
    private readonly Ext4FileSystem _fs;
    private readonly string _target;
    private readonly bool _isRoot = Posix.EffectiveUid == 0;
    private const int MaxErrorsListed = 1000;
    private readonly List<string> _errors = new();
    private long _errorsNotListed;
    private readonly List<string> _warnings = new();
    private readonly Dictionary<uint, string> _firstLinks = new();
    private readonly HashSet<uint> _directoriesSeen = new();
    private long _files, _directories, _symlinks, _specials, _bytes;

    public FileLevelRestore(Ext4FileSystem fs, string target)
    {
        _fs = fs;
        _target = Path.GetFullPath(target).TrimEnd('/');
        if (_target.Length == 0) _target = "/";
    }

    /// <summary>Called with the number of bytes each time file data is written (from the restoring thread).</summary>
    public Action<long>? OnBytesWritten { get; init; }

    public async Task<FileLevelRestoreResult> RestoreAsync(string path, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var components = Ext4FileSystem.SplitPath(path);
        var inode = await _fs.LookupAsync("/" + string.Join('/', components), ct).ConfigureAwait(false);
        foreach (var c in components)
            if (!SafeName.IsSafe(c)) throw new UsageException($"{path}: the name '{c}' cannot be restored");

        try { Directory.CreateDirectory(_target); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot create the target {_target}: {e.Message}");
        }
        string prefix = _target == "/" ? "" : _target;
        string parent = prefix;
        for (int i = 0; i < components.Count - 1; i++)
        {
            parent += "/" + components[i];
            EnsureRealDirectory(parent);
        }
        string destination = components.Count == 0 ? prefix : parent + "/" + components[^1];
        string imagePath = "/" + string.Join('/', components);

        if (components.Count == 0)
        {
            // The whole file system: its root's contents go into the target, which may already exist.
            EnsureRealDirectory(_target);
            await RestoreTreeAsync(inode, _target, "", applyRootMetadata: false, ct).ConfigureAwait(false);
        }
        else
        {
            if (Posix.TryLStat(destination, out _))
                throw new UsageException($"{destination} already exists; restore into another directory (nothing is overwritten)");
            if (inode.Kind == FileKind.Directory)
            {
                Directory.CreateDirectory(destination);
                await RestoreTreeAsync(inode, destination, imagePath, applyRootMetadata: true, ct).ConfigureAwait(false);
            }
            else
            {
                await RestoreEntryAsync(inode, destination, imagePath, ct).ConfigureAwait(false);
            }
        }
        if (_errorsNotListed > 0) _errors.Add($"… and {_errorsNotListed} more errors");
        if (_warnings.Count > MaxErrorsListed) _warnings.RemoveRange(MaxErrorsListed, _warnings.Count - MaxErrorsListed);
        return new FileLevelRestoreResult(_files, _directories, _symlinks, _specials, _bytes, _errors, _warnings, clock.Elapsed);
    }

    private sealed class Frame(Ext4Inode inode, string targetPath, string imagePath, List<Ext4DirectoryEntry> entries, bool applyMetadata)
    {
        public Ext4Inode Inode { get; } = inode;
        public string TargetPath { get; } = targetPath;
        public string ImagePath { get; } = imagePath;
        public List<Ext4DirectoryEntry> Entries { get; } = entries;
        public bool ApplyMetadata { get; } = applyMetadata;
        public int Next { get; set; }
    }

    private async Task RestoreTreeAsync(Ext4Inode root, string rootTarget, string rootImagePath, bool applyRootMetadata, CancellationToken ct)
    {
        var stack = new Stack<Frame>();
        var rootFrame = await OpenDirectoryAsync(root, rootTarget, rootImagePath, applyRootMetadata, ct).ConfigureAwait(false);
        if (rootFrame is null) return;
        stack.Push(rootFrame);
        while (stack.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var frame = stack.Peek();
            if (frame.Next == frame.Entries.Count)
            {
                stack.Pop();
                if (frame.ApplyMetadata) await GuardAsync(frame.ImagePath, () => ApplyPathMetadataAsync(frame.Inode, frame.TargetPath, FileKind.Directory, ct)).ConfigureAwait(false);
                continue;
            }
            var entry = frame.Entries[frame.Next++];
            string imagePath = frame.ImagePath + "/" + entry.Name;
            string targetPath = frame.TargetPath + "/" + entry.Name;
            Ext4Inode inode;
            try { inode = await _fs.ReadInodeAsync(entry.Inode, ct).ConfigureAwait(false); }
            catch (StrataException e) { AddError($"{imagePath}: {e.Message}"); continue; }
            if (inode.Kind == FileKind.Directory)
            {
                if (stack.Count >= MaxDepth) { AddError($"{imagePath}: directories nested deeper than {MaxDepth} levels, skipped"); continue; }
                if (!await GuardAsync(imagePath, () => { Posix.MkDirNew(targetPath); return Task.CompletedTask; }).ConfigureAwait(false)) continue;
                var child = await OpenDirectoryAsync(inode, targetPath, imagePath, true, ct).ConfigureAwait(false);
                if (child is not null) stack.Push(child);
            }
            else
            {
                await RestoreEntryAsync(inode, targetPath, imagePath, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads a directory's entries, keeping only safe, unique names; null (and an error recorded) when it cannot be read.</summary>
    private async Task<Frame?> OpenDirectoryAsync(Ext4Inode inode, string targetPath, string imagePath, bool applyMetadata, CancellationToken ct)
    {
        string shown = imagePath.Length == 0 ? "/" : imagePath;
        if (!_directoriesSeen.Add(inode.Number))
        {
            AddError($"{shown}: directory inode {inode.Number} is linked from a second place (a damaged file system), skipped");
            return null;
        }
        var entries = new List<Ext4DirectoryEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var e in _fs.ReadDirectoryAsync(inode, ct).ConfigureAwait(false))
            {
                if (!SafeName.IsSafe(e.Name)) { AddError($"{shown}: unsafe name {e.Name.Replace("\0", "\\0")}, skipped"); continue; }
                if (!names.Add(e.Name)) { AddError($"{shown}/{e.Name}: a second entry with this name, skipped"); continue; }
                entries.Add(e);
            }
        }
        catch (StrataException e)
        {
            AddError($"{shown}: {e.Message}");
        }
        _directories++;
        return new Frame(inode, targetPath, imagePath, entries, applyMetadata);
    }

    private async Task RestoreEntryAsync(Ext4Inode inode, string targetPath, string imagePath, CancellationToken ct)
    {
        try
        {
            switch (inode.Kind)
            {
                case FileKind.Regular:
                    if (inode.LinksCount > 1)
                    {
                        if (_firstLinks.TryGetValue(inode.Number, out var first))
                        {
                            Posix.Link(first, targetPath);
                            _files++;
                            return;
                        }
                        _firstLinks[inode.Number] = targetPath;
                    }
                    await RestoreFileAsync(inode, targetPath, ct).ConfigureAwait(false);
                    _files++;
                    break;
                case FileKind.Symlink:
                    Posix.Symlink(await _fs.ReadSymlinkAsync(inode, ct).ConfigureAwait(false), targetPath);
                    await ApplyPathMetadataAsync(inode, targetPath, FileKind.Symlink, ct).ConfigureAwait(false);
                    _symlinks++;
                    break;
                case FileKind.Fifo:
                    Posix.MkFifo(targetPath, inode.Permissions);
                    await ApplyPathMetadataAsync(inode, targetPath, FileKind.Fifo, ct).ConfigureAwait(false);
                    _specials++;
                    break;
                case FileKind.CharDevice or FileKind.BlockDevice:
                    if (!_isRoot) { _warnings.Add($"{imagePath}: device node not restored (needs root)"); return; }
                    var (major, minor) = inode.Device;
                    Posix.MkNod(targetPath, inode.Mode, Posix.MakeDev(major, minor));
                    await ApplyPathMetadataAsync(inode, targetPath, inode.Kind, ct).ConfigureAwait(false);
                    _specials++;
                    break;
                case FileKind.Socket:
                    _warnings.Add($"{imagePath}: socket not restored (sockets are made by the programs that listen on them)");
                    break;
            }
        }
        catch (Exception e) when (e is StrataException or IOException or UnauthorizedAccessException)
        {
            AddError($"{imagePath}: {e.Message}");
        }
    }

    private async Task RestoreFileAsync(Ext4Inode inode, string targetPath, CancellationToken ct)
    {
        using SafeFileHandle handle = Posix.CreateExclusive(targetPath, 0x180);
        try
        {
            await _fs.ReadContentAsync(inode, (offset, data, token) =>
            {
                var (written, _) = SparseWriter.Write(handle, data.Span, offset);
                _bytes += written;
                OnBytesWritten?.Invoke(data.Length);
                return ValueTask.CompletedTask;
            }, ct).ConfigureAwait(false);
            RandomAccess.SetLength(handle, inode.Size);
            if (_isRoot) Posix.FChown(handle, inode.Uid, inode.Gid, targetPath);
            Posix.FChmod(handle, inode.Permissions, targetPath);
            foreach (var (name, value) in await XattrsToRestoreAsync(inode, ct).ConfigureAwait(false))
            {
                try { Posix.FSetXattr(handle, name, value, targetPath); }
                catch (PosixException e) { _warnings.Add($"{targetPath[(_target.Length)..]}: {e.Message}"); }
            }
            Posix.FSetTimes(handle, inode.AccessTime.UnixNanoseconds, inode.ModificationTime.UnixNanoseconds, targetPath);
        }
        catch
        {
            // A half-written file must not pass for a restored one.
            handle.Dispose();
            try { File.Delete(targetPath); } catch (IOException) { }
            throw;
        }
    }

    private async Task ApplyPathMetadataAsync(Ext4Inode inode, string targetPath, FileKind kind, CancellationToken ct)
    {
        if (_isRoot) Posix.LChown(targetPath, inode.Uid, inode.Gid);
        if (kind != FileKind.Symlink) Posix.Chmod(targetPath, inode.Permissions);
        if (kind == FileKind.Directory)
        {
            foreach (var (name, value) in await XattrsToRestoreAsync(inode, ct).ConfigureAwait(false))
            {
                try { Posix.SetXattr(targetPath, name, value); }
                catch (PosixException e) { _warnings.Add($"{targetPath[(_target.Length)..]}: {e.Message}"); }
            }
        }
        Posix.SetTimes(targetPath, inode.AccessTime.UnixNanoseconds, inode.ModificationTime.UnixNanoseconds);
    }

    /// <summary>Unprivileged processes can set only "user." attributes; root gets all of them.</summary>
    private async Task<List<KeyValuePair<string, byte[]>>> XattrsToRestoreAsync(Ext4Inode inode, CancellationToken ct)
    {
        var all = await _fs.ReadXattrsAsync(inode, ct).ConfigureAwait(false);
        if (!_isRoot) all.RemoveAll(x => !x.Key.StartsWith("user.", StringComparison.Ordinal));
        return all;
    }

    /// <summary>A parent of the restored path: an existing real directory is used, a missing one made; anything else in the way is an error.</summary>
    private static void EnsureRealDirectory(string path)
    {
        if (Posix.TryLStat(path, out var status))
        {
            if (status.Kind != FileKind.Directory)
                throw new UsageException($"{path} is in the way: it is a {status.Kind}, not a directory (the restore never follows or replaces it)");
            return;
        }
        Posix.MkDirNew(path);
    }

    /// <summary>Records an error; past the first thousand only counts them, so a hostile image cannot fill memory with messages.</summary>
    private void AddError(string message)
    {
        if (_errors.Count < MaxErrorsListed) _errors.Add(message);
        else _errorsNotListed++;
    }

    private async Task<bool> GuardAsync(string imagePath, Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is StrataException or IOException or UnauthorizedAccessException)
        {
            AddError($"{(imagePath.Length == 0 ? "/" : imagePath)}: {e.Message}");
            return false;
        }
    }
}
