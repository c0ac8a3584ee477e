using Strata.Repository;

namespace Strata.Replication;

/// <summary>Which snapshots <see cref="SnapshotCopier"/> copies.</summary>
public sealed record CopyOptions
{
    /// <summary>Snapshot ids (prefixes) or "latest"; empty = every snapshot that matches <see cref="Filter"/>.</summary>
    public IReadOnlyList<string> Snapshots { get; init; } = [];

    public SnapshotFilter? Filter { get; init; }

    /// <summary>Only the newest snapshot of each host and set of paths (replication policies' "latest").</summary>
    public bool LatestPerHostOnly { get; init; }
}
