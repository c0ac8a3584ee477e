using Strata.Snapshots;

namespace Strata.Retention;

/// <summary>What a policy decided for one snapshot, and every rule that kept it (empty when it goes).</summary>
public sealed record RetentionDecision(Snapshot Snapshot, IReadOnlyList<string> Reasons)
{
    public bool Keep => Reasons.Count > 0;
}
