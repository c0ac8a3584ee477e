using System.Text.Json.Serialization;
using Strata.Errors;
using Strata.Retention;
using Strata.Snapshots;

namespace Strata.Replication;

/// <summary>
/// Which copies a replication target keeps: the keep rules of <c>strata forget</c> (restic's
/// semantics, per host and paths, calendar periods of the local time zone), applied by
/// <see cref="RetentionPlanner"/>. Removing a snapshot deletes only the snapshot object; its data
/// stays until the target is pruned.
/// </summary>
public sealed class TargetRetention
{
    [JsonPropertyName("keep_last")] public int KeepLast { get; set; }
    [JsonPropertyName("keep_hourly")] public int KeepHourly { get; set; }
    [JsonPropertyName("keep_daily")] public int KeepDaily { get; set; }
    [JsonPropertyName("keep_weekly")] public int KeepWeekly { get; set; }
    [JsonPropertyName("keep_monthly")] public int KeepMonthly { get; set; }
    [JsonPropertyName("keep_yearly")] public int KeepYearly { get; set; }

    private RetentionPolicy Policy => new()
    {
        KeepLast = KeepLast,
        KeepHourly = KeepHourly,
        KeepDaily = KeepDaily,
        KeepWeekly = KeepWeekly,
        KeepMonthly = KeepMonthly,
        KeepYearly = KeepYearly,
    };

    internal void Validate(string label)
    {
        if (new[] { KeepLast, KeepHourly, KeepDaily, KeepWeekly, KeepMonthly, KeepYearly }.Any(n => n < 0))
            throw new UsageException($"{label}: retention counts must not be negative");
        if (Policy.IsEmpty)
            throw new UsageException($"{label}: a retention that keeps nothing would remove every copy; give at least one keep_* rule or leave \"retention\" out");
    }

    /// <summary>The snapshots the rules do not keep.</summary>
    public List<Snapshot> ToRemove(IEnumerable<Snapshot> snapshots) =>
        RetentionPlanner.Plan(snapshots, Policy, TimeZoneInfo.Local, allowRemoveAll: true).SelectMany(g => g.Removed).ToList();
}
