using Strata.Snapshots;

namespace Strata.Retention;

/// <summary>
/// The identity of one series of snapshots under a grouping: the host, paths and tags it was grouped
/// by (null for what the grouping ignores). Paths and tags are sorted, so order does not split a series.
/// </summary>
public sealed record SnapshotGroupKey(string? Host, IReadOnlyList<string>? Paths, IReadOnlyList<string>? Tags)
{
    public static SnapshotGroupKey Of(Snapshot snapshot, SnapshotGrouping grouping) => new(
        grouping.HasFlag(SnapshotGrouping.Host) ? snapshot.Hostname : null,
        grouping.HasFlag(SnapshotGrouping.Paths) ? snapshot.Paths.Order(StringComparer.Ordinal).ToArray() : null,
        grouping.HasFlag(SnapshotGrouping.Tags) ? (snapshot.Tags ?? []).Distinct().Order(StringComparer.Ordinal).ToArray() : null);

    public bool Equals(SnapshotGroupKey? other) =>
        other is not null && Host == other.Host && SameList(Paths, other.Paths) && SameList(Tags, other.Tags);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Host);
        foreach (var p in Paths ?? []) hash.Add(p);
        hash.Add(Paths is null);
        foreach (var t in Tags ?? []) hash.Add(t);
        hash.Add(Tags is null);
        return hash.ToHashCode();
    }

    /// <summary>"host laptop, paths /home /etc, tags (none)"; "all snapshots" when nothing groups.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (Host is not null) parts.Add($"host {Host}");
        if (Paths is not null) parts.Add($"paths {string.Join(" ", Paths)}");
        if (Tags is not null) parts.Add(Tags.Count == 0 ? "no tags" : $"tags {string.Join(",", Tags)}");
        return parts.Count == 0 ? "all snapshots" : string.Join(", ", parts);
    }

    private static bool SameList(IReadOnlyList<string>? a, IReadOnlyList<string>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b, StringComparer.Ordinal);
}

/// <summary>One series and the decision for each of its snapshots, newest first.</summary>
public sealed record SnapshotGroup(SnapshotGroupKey Key, IReadOnlyList<RetentionDecision> Decisions)
{
    public IEnumerable<Snapshot> Kept => Decisions.Where(d => d.Keep).Select(d => d.Snapshot);
    public IEnumerable<Snapshot> Removed => Decisions.Where(d => !d.Keep).Select(d => d.Snapshot);
}
