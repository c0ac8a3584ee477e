using System.Collections.Concurrent;

namespace Strata.Storage;

/// <summary>
/// Range reads of packs from an object store cost a request each, and a restore reads blob after
/// blob, jumping between packs as files share content. This cache fetches aligned segments of a
/// pack (one request for many blobs), keeps the most recent in memory and spills every fetched
/// segment to a private temporary folder (bounded), so a segment is downloaded once per command
/// however the reads jump. Safe only for objects that never change (content-addressed packs,
/// FORMAT.md I4). Concurrent readers of one segment share one fetch; a failed fetch is forgotten,
/// so the next reader tries again. The folder is removed on dispose (and by a later run if the
/// process was killed: folders untouched for an hour).
/// </summary>
internal sealed class PackSegmentCache(int segmentSize, int memoryCapacity, int diskCapacity, Func<string, long, int, CancellationToken, Task<byte[]>> fetch) : IDisposable
{
    private const string FolderPrefix = "strata-segments-";
    private readonly ConcurrentDictionary<(string Name, long Index), Lazy<Task<byte[]>>> _memory = new();
    private readonly ConcurrentQueue<(string Name, long Index)> _memoryOrder = new();
    private readonly ConcurrentDictionary<(string Name, long Index), string> _disk = new();
    private readonly ConcurrentQueue<(string Name, long Index)> _diskOrder = new();
    private readonly object _folderLock = new();
    private string? _folder;
    private bool _spillFailed;
    private int _fetches;

    public int SegmentSize => segmentSize;

    /// <summary>Segments downloaded so far (for tests and figures).</summary>
    public int Fetches => Volatile.Read(ref _fetches);

    /// <summary>
    /// Copies the bytes at <paramref name="offset"/> into <paramref name="destination"/> from cached
    /// segments; false when the object ends before the range does.
    /// </summary>
    public async Task<bool> TryReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct)
    {
        int done = 0;
        while (done < destination.Length)
        {
            long position = offset + done;
            long index = position / segmentSize;
            var segment = await GetSegmentAsync(name, index, ct).ConfigureAwait(false);
            int within = (int)(position - index * segmentSize);
            if (within >= segment.Length) return false;
            int n = Math.Min(destination.Length - done, segment.Length - within);
            segment.AsMemory(within, n).CopyTo(destination[done..]);
            done += n;
            if (segment.Length < segmentSize && done < destination.Length) return false; // the last segment ended
        }
        return true;
    }

    private async Task<byte[]> GetSegmentAsync(string name, long index, CancellationToken ct)
    {
        var key = (name, index);
        var lazy = _memory.GetOrAdd(key, k => new Lazy<Task<byte[]>>(() => LoadAsync(k)));
        try
        {
            return await lazy.Value.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            _memory.TryRemove(new KeyValuePair<(string, long), Lazy<Task<byte[]>>>(key, lazy));
            throw;
        }
    }

    private async Task<byte[]> LoadAsync((string Name, long Index) key)
    {
        while (_memory.Count > memoryCapacity && _memoryOrder.TryDequeue(out var oldest)) _memory.TryRemove(oldest, out _);
        _memoryOrder.Enqueue(key);
        if (_disk.TryGetValue(key, out var path))
        {
            try { return await File.ReadAllBytesAsync(path).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _disk.TryRemove(key, out _); }
        }
        Interlocked.Increment(ref _fetches);
        // Not the caller's token: other readers may wait on this fetch after the first one gave up.
        var segment = await fetch(key.Name, key.Index * segmentSize, segmentSize, CancellationToken.None).ConfigureAwait(false);
        Spill(key, segment);
        return segment;
    }

    /// <summary>Best effort: without room on disk, segments are simply downloaded again when needed.</summary>
    private void Spill((string Name, long Index) key, byte[] segment)
    {
        if (diskCapacity <= 0 || Volatile.Read(ref _spillFailed)) return;
        var folder = Folder();
        if (folder is null) return;
        var path = Path.Combine(folder, $"{key.Name.Replace('/', '_')}.{key.Index}");
        try
        {
            File.WriteAllBytes(path, segment);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Volatile.Write(ref _spillFailed, true);
            return;
        }
        _disk[key] = path;
        _diskOrder.Enqueue(key);
        while (_disk.Count > diskCapacity && _diskOrder.TryDequeue(out var oldest))
            if (_disk.TryRemove(oldest, out var old)) TryDelete(old);
    }

    private string? Folder()
    {
        lock (_folderLock)
        {
            if (_folder is not null || _spillFailed) return _folder;
            try
            {
                RemoveAbandonedFolders();
                _folder = Path.Combine(Path.GetTempPath(), $"{FolderPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
                Directory.CreateDirectory(_folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _spillFailed = true;
                _folder = null;
            }
            return _folder;
        }
    }

    /// <summary>Folders of killed processes: untouched for an hour (a live one adds files as it reads).</summary>
    private static void RemoveAbandonedFolders()
    {
        var cutoff = DateTime.UtcNow - LocalDirectoryBackend.StaleTemporaryAge;
        foreach (var dir in new DirectoryInfo(Path.GetTempPath()).EnumerateDirectories(FolderPrefix + "*"))
        {
            try { if (dir.LastWriteTimeUtc < cutoff) dir.Delete(recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public void Dispose()
    {
        lock (_folderLock)
        {
            if (_folder is null) return;
            try { Directory.Delete(_folder, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            _folder = null;
            _spillFailed = true;
        }
    }
}
