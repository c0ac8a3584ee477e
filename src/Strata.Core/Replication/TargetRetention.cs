using System.Globalization;
using System.Text.Json.Serialization;
using Strata.Errors;
using Strata.Snapshots;

namespace Strata.Replication;

/// <summary>
/// Which copies a replication target keeps (restic's keep rules, per host and paths, newest first,
/// calendar periods in local time): the last N, and the newest of each of the last N days, ISO
/// weeks, months and years that have snapshots. A snapshot kept by any rule stays. Removing a
/// snapshot deletes only the snapshot object; its data stays until the target is pruned.
/// </summary>
public sealed class TargetRetention
{
    [JsonPropertyName("keep_last")] public int KeepLast { get; set; }
    [JsonPropertyName("keep_daily")] public int KeepDaily { get; set; }
    [JsonPropertyName("keep_weekly")] public int KeepWeekly { get; set; }
    [JsonPropertyName("keep_monthly")] public int KeepMonthly { get; set; }
    [JsonPropertyName("keep_yearly")] public int KeepYearly { get; set; }

    internal void Validate(string label)
    {
        if (new[] { KeepLast, KeepDaily, KeepWeekly, KeepMonthly, KeepYearly }.Any(n => n < 0))
            throw new UsageException($"{label}: retention counts must not be negative");
        if (KeepLast + KeepDaily + KeepWeekly + KeepMonthly + KeepYearly == 0)
            throw new UsageException($"{label}: a retention that keeps nothing would remove every copy; give at least one keep_* rule or leave \"retention\" out");
    }

    /// <summary>The snapshots the rules do not keep.</summary>
    public List<Snapshot> ToRemove(IEnumerable<Snapshot> snapshots)
    {
        var remove = new List<Snapshot>();
        foreach (var group in snapshots.GroupBy(s => (s.Hostname, string.Join('\0', s.Paths.Order(StringComparer.Ordinal)))))
        {
            var rules = new (int Count, Func<DateTime, string> Period)[]
            {
                (KeepDaily, t => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
                (KeepWeekly, t => $"{ISOWeek.GetYear(t)}-W{ISOWeek.GetWeekOfYear(t)}"),
                (KeepMonthly, t => t.ToString("yyyy-MM", CultureInfo.InvariantCulture)),
                (KeepYearly, t => t.Year.ToString(CultureInfo.InvariantCulture)),
            };
            var left = rules.Select(r => r.Count).ToArray();
            var last = new string?[rules.Length];
            int index = 0;
            foreach (var s in group.OrderByDescending(s => s.Time).ThenByDescending(s => s.Id))
            {
                bool keep = index++ < KeepLast;
                var local = s.Time.ToLocalTime().DateTime;
                for (int r = 0; r < rules.Length; r++)
                {
                    if (left[r] == 0) continue;
                    var period = rules[r].Period(local);
                    if (period == last[r]) continue;
                    last[r] = period;
                    left[r]--;
                    keep = true;
                }
                if (!keep) remove.Add(s);
            }
        }
        return remove;
    }
}
