using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Strata.Repository;
using Strata.Storage;

namespace Strata.Cache;

/// <summary>
/// Keeps local copies of a remote repository's index files and snapshots, so that commands after
/// the first do not download all metadata again. Only content-addressed objects are cached, and a
/// cached copy is used only after its SHA-256 matches its name (FORMAT.md §1): a damaged or
/// tampered cache file is thrown away and fetched again, never trusted. The repository remains
/// the truth: listings always come from it, and cached objects it no longer lists are removed.
/// Packs are not cached (too big); writes go through to the repository and into the cache.
/// </summary>
public sealed class MetadataCache : IStorageBackend
{
    private static readonly string[] CachedFolders = [Layout.IndexFolder, Layout.SnapshotsFolder];
    private readonly IStorageBackend _inner;

    public MetadataCache(IStorageBackend inner, string directory)
    {
        _inner = inner;
        Directory = directory;
    }

    /// <summary>This repository's cache folder.</summary>
    public string Directory { get; }

    /// <summary>Objects served from the cache since this instance was created.</summary>
    public int Hits => Volatile.Read(ref _hits);
    private int _hits;

    /// <summary>
    /// The default folder for a repository: $STRATA_CACHE_DIR, else $XDG_CACHE_HOME/strata, else
    /// ~/.cache/strata, then one folder per repository location (hashed: locations hold slashes and colons).
    /// </summary>
    public static string DefaultDirectoryFor(string location)
    {
        var root = Environment.GetEnvironmentVariable("STRATA_CACHE_DIR") is { Length: > 0 } explicitRoot ? explicitRoot
            : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? Path.Combine(xdg, "strata")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "strata");
        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(location)))[..32];
        return Path.Combine(root, key);
    }

    public IStorageBackend Inner => _inner;
    public string Location => _inner.Location;
    public string StagingDirectory => _inner.StagingDirectory;

    private static bool IsCached(string name) =>
        Array.Exists(CachedFolders, f => name.StartsWith(f, StringComparison.Ordinal)) && Layout.IdOf(name) is not null && name.IndexOf('/') == name.LastIndexOf('/');

    private string PathOf(string name) => Path.Combine(Directory, name);

    public Task<bool> ExistsAsync(string name, CancellationToken ct = default) => _inner.ExistsAsync(name, ct);

    public async Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        await _inner.PutAsync(name, content, ct).ConfigureAwait(false);
        if (IsCached(name)) Store(name, content.Span);
    }

    public Task PutFileAsync(string name, string localPath, CancellationToken ct = default) => _inner.PutFileAsync(name, localPath, ct);

    public async Task<byte[]> GetAsync(string name, long offset = 0, int length = -1, CancellationToken ct = default)
    {
        if (offset != 0 || length >= 0 || !IsCached(name)) return await _inner.GetAsync(name, offset, length, ct).ConfigureAwait(false);
        if (TryLoad(name) is { } cached)
        {
            Interlocked.Increment(ref _hits);
            return cached;
        }
        var fetched = await _inner.GetAsync(name, ct: ct).ConfigureAwait(false);
        if (Matches(name, fetched)) Store(name, fetched);
        return fetched;
    }

    public Task ReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct = default) => _inner.ReadAsync(name, offset, destination, ct);

    /// <summary>The repository's listing, unchanged; at its end, cached objects of that folder the repository no longer has are removed.</summary>
    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var folder = Array.Find(CachedFolders, f => f == prefix);
        var listed = folder is null ? null : new HashSet<string>(StringComparer.Ordinal);
        await foreach (var o in _inner.ListAsync(prefix, ct).ConfigureAwait(false))
        {
            listed?.Add(o.Name);
            yield return o;
        }
        if (folder is not null) RemoveUnlisted(folder, listed!);
    }

    public async Task DeleteAsync(string name, CancellationToken ct = default)
    {
        await _inner.DeleteAsync(name, ct).ConfigureAwait(false);
        if (IsCached(name)) TryDelete(PathOf(name));
    }

    public void Dispose() => _inner.Dispose();

    // ---- the local files ---------------------------------------------------------------------

    private static bool Matches(string name, ReadOnlySpan<byte> content) =>
        Layout.IdOf(name) is { } id && new BlobId(SHA256.HashData(content)) == id;

    /// <summary>The cached bytes if present and true to their name; a damaged file is deleted.</summary>
    private byte[]? TryLoad(string name)
    {
        var path = PathOf(name);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (Matches(name, bytes)) return bytes;
        TryDelete(path);
        return null;
    }

    /// <summary>Best effort: a cache that cannot be written (read-only home, full disk) only costs downloads.</summary>
    private void Store(string name, ReadOnlySpan<byte> content)
    {
        var path = PathOf(name);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                file.Write(content);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
        }
    }

    private void RemoveUnlisted(string folder, HashSet<string> listed)
    {
        var local = Path.Combine(Directory, folder.TrimEnd('/'));
        if (!System.IO.Directory.Exists(local)) return;
        foreach (var file in System.IO.Directory.EnumerateFiles(local))
        {
            var name = folder + Path.GetFileName(file);
            if (!listed.Contains(name)) TryDelete(file);
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
