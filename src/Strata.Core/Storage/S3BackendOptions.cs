namespace Strata.Storage;

/// <summary>How an <see cref="S3Backend"/> talks to its store; the defaults suit AWS and MinIO.</summary>
public sealed record S3BackendOptions
{
    /// <summary>Objects larger than this are uploaded in parts.</summary>
    public long MultipartThreshold { get; init; } = 64L << 20;

    /// <summary>Size of each part but the last (S3 requires at least 5 MiB).</summary>
    public long PartSize { get; init; } = 16L << 20;

    public int PartsInFlight { get; init; } = 2;

    /// <summary>A request with no answer within this time is abandoned and retried.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>
    /// Small range reads of packs fetch this much of the pack at once and keep it in memory, so a
    /// restore makes one request per segment rather than one per blob; 0 = off.
    /// </summary>
    public int PackSegmentSize { get; init; } = 1 << 20;

    /// <summary>How many segments stay in memory (the most recently used).</summary>
    public int PackSegmentsCached { get; init; } = 48;

    /// <summary>How many fetched segments are kept in a temporary folder, so none is downloaded twice; 0 = none.</summary>
    public int PackSegmentsSpilled { get; init; } = 4096;

    /// <summary>Where packs are staged before upload; default: strata-staging-USER in the system temp folder.</summary>
    public string? StagingDirectory { get; init; }
}
