using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using Strata.Errors;
using Strata.Platform;

namespace Strata.Storage;

/// <summary>
/// A repository in a local directory (the embedded default). Atomic puts: write to a unique file
/// under <c>tmp/</c>, fsync it, rename it into place, fsync the directory. A process killed at any
/// instant leaves at worst a stray file in <c>tmp/</c>, which no reader ever looks at.
/// </summary>
public sealed class LocalDirectoryBackend : IStorageBackend
{
    private const string TempFolder = "tmp";
    private const int MaxOpenHandles = 256;
    internal static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromHours(1);
    private int _staleFilesRemoved;
    private readonly string _root;
    private readonly ConcurrentDictionary<string, SafeFileHandle> _openHandles = new(StringComparer.Ordinal);

    public LocalDirectoryBackend(string root)
    {
        _root = Path.GetFullPath(root);
    }

    public string Location => _root;

    public Task<bool> ExistsAsync(string name, CancellationToken ct = default) =>
        Task.FromResult(File.Exists(PathOf(name)));

    public async Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        var path = PathOf(name);
        var directory = Path.GetDirectoryName(path)!;
        var tempDirectory = Path.Combine(_root, TempFolder);
        var temp = Path.Combine(tempDirectory, $"{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(tempDirectory);
            Directory.CreateDirectory(directory);
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, content.Length))
            {
                await RandomAccess.WriteAsync(handle, content, 0, ct).ConfigureAwait(false);
                Posix.Fsync(handle);
            }
            File.Move(temp, path, overwrite: true);
            ForgetHandle(name);
            Posix.FsyncDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new StorageException($"cannot write {name} to {_root}: {IoErrorText.Describe(e)}", e);
        }
    }

    /// <summary>Where packs are staged; stale leftovers of killed writers are removed on first use.</summary>
    public string StagingDirectory
    {
        get
        {
            var directory = Path.Combine(_root, TempFolder);
            if (Interlocked.Exchange(ref _staleFilesRemoved, 1) == 0) RemoveStaleTemporaryFiles(directory);
            return directory;
        }
    }

    /// <summary>
    /// A writer killed mid-pack leaves its staging file in tmp/. Files untouched for an hour belong
    /// to no live writer (a live one appends every few seconds), so they go: without this, a machine
    /// whose backups are killed (shutdowns, OOM) would slowly fill tmp/. Failures are ignored.
    /// </summary>
    private static void RemoveStaleTemporaryFiles(string directory)
    {
        if (!Directory.Exists(directory)) return;
        var cutoff = DateTime.UtcNow - StaleTemporaryAge;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles())
            if (file.LastWriteTimeUtc < cutoff) TryDelete(file.FullName);
    }

    /// <summary>The staged file is in the repository's own tmp/ (same file system): fsync and rename, no copy.</summary>
    public Task PutFileAsync(string name, string localPath, CancellationToken ct = default)
    {
        var path = PathOf(name);
        var directory = Path.GetDirectoryName(path)!;
        try
        {
            using (var handle = File.OpenHandle(localPath, FileMode.Open, FileAccess.ReadWrite))
                Posix.Fsync(handle);
            Directory.CreateDirectory(directory);
            File.Move(localPath, path, overwrite: true);
            ForgetHandle(name);
            Posix.FsyncDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(localPath);
            throw new StorageException($"cannot write {name} to {_root}: {IoErrorText.Describe(e)}", e);
        }
        return Task.CompletedTask;
    }

    public async Task<byte[]> GetAsync(string name, long offset = 0, int length = -1, CancellationToken ct = default)
    {
        long size;
        try { size = new FileInfo(PathOf(name)).Length; }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new ObjectNotFoundException(name, _root); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot read {name} from {_root}: {IoErrorText.Describe(e)}", e);
        }
        if (length < 0)
        {
            if (size - offset > Array.MaxLength) throw new StorageException($"{name} is too large to read at once");
            length = (int)(size - offset);
        }
        if (offset < 0 || offset + length > size)
            throw new CorruptDataException($"{name}: range {offset}+{length} lies outside the object ({size} bytes)");
        var buffer = GC.AllocateUninitializedArray<byte>(length);
        await ReadAsync(name, offset, buffer, ct).ConfigureAwait(false);
        return buffer;
    }

    /// <summary>
    /// Reads synchronously, on the caller's thread: on Linux <c>RandomAccess.ReadAsync</c> runs the same
    /// blocking pread on a pool thread, so the async form would only add two thread switches and an
    /// allocation per read (a restore makes one read per blob). Callers that want reads in parallel
    /// already issue them from several workers.
    /// </summary>
    public Task ReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct = default)
    {
        if (ct.IsCancellationRequested) return Task.FromCanceled(ct);
        try
        {
            Read(name, offset, destination.Span);
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    private void Read(string name, long offset, Span<byte> destination)
    {
        SafeFileHandle? uncached = null;
        try
        {
            var handle = OpenForReading(name, out uncached);
            int done = 0;
            while (done < destination.Length)
            {
                int n = RandomAccess.Read(handle, destination[done..], offset + done);
                if (n == 0) throw new CorruptDataException($"{name}: range {offset}+{destination.Length} lies outside the object");
                done += n;
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException(name, _root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot read {name} from {_root}: {IoErrorText.Describe(e)}", e);
        }
        finally
        {
            uncached?.Dispose();
        }
    }

    /// <summary>
    /// Range reads (restores, mounts) hit the same packs again and again: their handles stay open.
    /// Safe because stored objects never change (FORMAT.md I4). Past the cap, a handle serves one
    /// read and is returned in <paramref name="uncached"/> for the caller to close.
    /// </summary>
    private SafeFileHandle OpenForReading(string name, out SafeFileHandle? uncached)
    {
        uncached = null;
        if (_openHandles.TryGetValue(name, out var cached)) return cached;
        // Not FileOptions.RandomAccess (POSIX_FADV_RANDOM): a restore reads a pack's blobs mostly in
        // order, and the kernel's readahead turns those small reads into a few large ones (a cold
        // restore of the benchmark tree: 8.6-9.4 s with it, 12.5-14.5 s without). Reads that really
        // are random are not read ahead by the kernel anyway.
        var handle = File.OpenHandle(PathOf(name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.None);
        // Only content-addressed objects are cached: config and key slots can be replaced under their name.
        if (_openHandles.Count >= MaxOpenHandles || Repository.Layout.IdOf(name) is null)
        {
            uncached = handle;
            return handle;
        }
        if (_openHandles.TryAdd(name, handle)) return handle;
        handle.Dispose();
        return _openHandles[name];
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var directory = PathOf(prefix.TrimEnd('/'));
        if (!Directory.Exists(directory)) yield break;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 };
        foreach (var info in new DirectoryInfo(directory).EnumerateFiles("*", options))
        {
            ct.ThrowIfCancellationRequested();
            var relative = Path.GetRelativePath(_root, info.FullName).Replace(Path.DirectorySeparatorChar, '/');
            long length;
            // Deleted by another process (forget, prune) between the directory read and the stat: not listed.
            try { length = info.Length; }
            catch (FileNotFoundException) { continue; }
            yield return new StoredObject(relative, length);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task DeleteAsync(string name, CancellationToken ct = default)
    {
        ForgetHandle(name);
        try { File.Delete(PathOf(name)); }
        catch (DirectoryNotFoundException) { }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot delete {name} from {_root}: {IoErrorText.Describe(e)}", e);
        }
        return Task.CompletedTask;
    }

    /// <summary>Creates the directory for a new repository; refuses a non-empty one.</summary>
    public void CreateRoot()
    {
        if (File.Exists(_root)) throw new UsageException($"{_root} is a file, not a directory");
        if (Directory.Exists(_root) && Directory.EnumerateFileSystemEntries(_root).Any())
            throw new UsageException($"{_root} is not empty: choose a new or empty directory for the repository");
        try { Directory.CreateDirectory(_root); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot create {_root}: {IoErrorText.Describe(e)}", e);
        }
    }

    /// <summary>A replaced or deleted object must not be read through a handle to its old file.</summary>
    private void ForgetHandle(string name)
    {
        if (_openHandles.TryRemove(name, out var handle)) handle.Dispose();
    }

    public void Dispose()
    {
        foreach (var handle in _openHandles.Values) handle.Dispose();
        _openHandles.Clear();
    }

    private string PathOf(string name)
    {
        // Names come from the repository code, never from users, but a damaged listing must still not escape the root.
        if (name.Contains("..", StringComparison.Ordinal) || name.StartsWith('/'))
            throw new CorruptDataException($"invalid object name '{name}'");
        return Path.Combine(_root, name);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
