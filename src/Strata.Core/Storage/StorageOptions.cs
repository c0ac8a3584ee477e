namespace Strata.Storage;

/// <summary>How a command talks to its storage: bandwidth limits and the metadata cache.</summary>
public sealed record StorageOptions
{
    public static readonly StorageOptions Default = new();

    /// <summary>Upload limit in KiB/s (--limit-upload); null or 0 = unlimited.</summary>
    public long? LimitUploadKib { get; init; }

    /// <summary>Download limit in KiB/s (--limit-download); null or 0 = unlimited.</summary>
    public long? LimitDownloadKib { get; init; }

    /// <summary>Whether remote repositories keep index files and snapshots in a local cache (off with --no-cache).</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>The cache folder of this repository; default: <see cref="Cache.MetadataCache.DefaultDirectoryFor"/>.</summary>
    public string? CacheDirectory { get; init; }
}
