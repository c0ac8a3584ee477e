namespace Strata.Mount;

public sealed record MountOptions
{
    /// <summary>Bytes of decrypted chunks kept in memory for reads (least recently used evicted first).</summary>
    public long BlobCacheBytes { get; init; } = 256L << 20;

    /// <summary>Bytes (estimated, in memory) of directory trees kept; trees are loaded only when a path inside them is visited.</summary>
    public long TreeCacheBytes { get; init; } = 64L << 20;

    /// <summary>How long the list of snapshots is trusted before a listing of the top folders reads it again.</summary>
    public TimeSpan SnapshotRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Let other users see the mount (as root by default; needs user_allow_other in /etc/fuse.conf otherwise).</summary>
    public bool AllowOther { get; init; }
}
