using Strata.Snapshots;

namespace Strata.Backup;

/// <summary>What a backup did. <see cref="Errors"/> lists sources that could not be read (exit code 3).</summary>
public sealed record BackupResult(Snapshot Snapshot, SnapshotSummary Summary, IReadOnlyList<SourceError> Errors, TimeSpan Duration);

public sealed record SourceError(string Path, string Message);
