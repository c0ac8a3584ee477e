using Strata.Cache;

namespace Strata.Storage;

/// <summary>Turns a repository location given by a user into a storage backend.</summary>
public static class StorageLocation
{
    /// <summary>
    /// The backend for <paramref name="location"/>, wrapped as <paramref name="options"/> ask: the
    /// bandwidth limits around the backend, the metadata cache (remote repositories only: a local
    /// directory is as fast as its cache would be) outside them, so cache hits cost no bandwidth.
    /// </summary>
    public static IStorageBackend Open(string location, StorageOptions? options = null)
    {
        options ??= StorageOptions.Default;
        var backend = OpenDirect(location);
        var upload = BandwidthLimiter.FromKibPerSecond(options.LimitUploadKib);
        var download = BandwidthLimiter.FromKibPerSecond(options.LimitDownloadKib);
        bool remote = backend is not LocalDirectoryBackend;
        if (upload is not null || download is not null) backend = new ThrottledBackend(backend, upload, download);
        if (options.UseCache && remote) backend = new MetadataCache(backend, options.CacheDirectory ?? MetadataCache.DefaultDirectoryFor(backend.Location));
        return backend;
    }

    /// <summary>The backend itself, with no cache or limits.</summary>
    public static IStorageBackend OpenDirect(string location)
    {
        if (location.StartsWith(S3Location.Scheme, StringComparison.Ordinal)) return new S3Backend(S3Location.Parse(location));
        if (location.StartsWith("local:", StringComparison.Ordinal)) location = location["local:".Length..];
        if (location.Contains("://", StringComparison.Ordinal))
            throw new Errors.UsageException($"repository location '{location}': not supported (use a local directory or s3:http(s)://HOST:PORT/BUCKET[/PREFIX])");
        return new LocalDirectoryBackend(location);
    }
}
