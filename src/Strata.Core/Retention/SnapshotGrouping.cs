using Strata.Errors;

namespace Strata.Retention;

/// <summary>What makes snapshots one series that a retention policy is applied to separately (restic's --group-by).</summary>
[Flags]
public enum SnapshotGrouping
{
    /// <summary>All selected snapshots are one series.</summary>
    None = 0,
    Host = 1,
    Paths = 2,
    Tags = 4,
}

public static class SnapshotGroupings
{
    public const SnapshotGrouping Default = SnapshotGrouping.Host | SnapshotGrouping.Paths;

    /// <summary>Parses "host,paths", "tags", "" (no grouping) or "none".</summary>
    public static SnapshotGrouping Parse(string text, string what)
    {
        var grouping = SnapshotGrouping.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            grouping |= part.ToLowerInvariant() switch
            {
                "host" or "hostname" => SnapshotGrouping.Host,
                "paths" or "path" => SnapshotGrouping.Paths,
                "tags" or "tag" => SnapshotGrouping.Tags,
                "none" => SnapshotGrouping.None,
                _ => throw new UsageException($"{what}: '{part}' is not a grouping (use host, paths, tags, a comma-separated combination, or none)"),
            };
        }
        return grouping;
    }

    public static string Format(this SnapshotGrouping grouping)
    {
        var parts = new List<string>();
        if (grouping.HasFlag(SnapshotGrouping.Host)) parts.Add("host");
        if (grouping.HasFlag(SnapshotGrouping.Paths)) parts.Add("paths");
        if (grouping.HasFlag(SnapshotGrouping.Tags)) parts.Add("tags");
        return parts.Count == 0 ? "none" : string.Join(",", parts);
    }
}
