using Strata.Filtering;

namespace Strata.Restore;

public sealed record RestoreOptions
{
    public required string Target { get; init; }
    /// <summary>Restore only paths (as they were backed up) matching these; null restores everything.</summary>
    public PathPatternSet? Includes { get; init; }
    /// <summary>Re-read every restored file afterwards and check it against the snapshot.</summary>
    public bool Verify { get; init; }
    /// <summary>The target already holds a state of this tree: rewrite only what differs.</summary>
    public bool Delta { get; init; }
    /// <summary>Remove entries in restored directories that the snapshot does not have.</summary>
    public bool Delete { get; init; }
    public int Workers { get; init; } = Math.Max(4, Environment.ProcessorCount * 2);
}
