namespace Strata.Prune;

public sealed record PruneOptions
{
    /// <summary>A pack whose unused share exceeds this fraction is repacked (its used blobs copied, the pack condemned).</summary>
    public double MaxUnused { get; init; } = 0.05;
    /// <summary>At most this many bytes of packs are read for repacking in one run; null for no limit.</summary>
    public long? MaxRepackSize { get; init; }
    /// <summary>Condemned packs are deleted no sooner than this after they were condemned (on top of the writers' leases).</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.Zero;
    /// <summary>Work out and report what would be done, changing nothing.</summary>
    public bool DryRun { get; init; }
}
