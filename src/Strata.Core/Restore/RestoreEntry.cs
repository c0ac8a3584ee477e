using Strata.Snapshots;

namespace Strata.Restore;

/// <summary>
/// One entry being restored: where it goes and what it is. The path as backed up is derived from
/// the target path (not stored), since a restore may hold many of these at once.
/// </summary>
internal sealed record RestoreEntry(string TargetPath, Node Node, int TargetLength)
{
    public string SnapshotPath => TargetPath[TargetLength..];

    /// <summary>The parent directory was created by this restore, so nothing can be in the way.</summary>
    public bool ParentIsFresh { get; init; }
}
