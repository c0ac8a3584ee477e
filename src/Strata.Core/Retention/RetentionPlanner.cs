using Strata.Errors;
using Strata.Snapshots;

namespace Strata.Retention;

/// <summary>
/// Applies a <see cref="RetentionPolicy"/> to snapshots, with restic's forget semantics: each group is
/// walked newest first; "last N" keeps the first N; a count rule keeps a snapshot when its period
/// (on the given zone's calendar) differs from the last period that rule kept, until its count is
/// used up, so each kept period is represented by its newest snapshot and periods without
/// snapshots cost nothing; tiers do the same without a count for every snapshot no older than
/// their duration before the group's newest snapshot (not before now, so a host that stops
/// backing up keeps its last points). Pure: it decides, it deletes nothing.
/// </summary>
public static class RetentionPlanner
{
    /// <param name="allowRemoveAll">Permits a policy with no rules, or one that keeps nothing of a group.
    /// Without it those are refused (<see cref="UsageException"/>) before anything is decided.</param>
    public static List<SnapshotGroup> Plan(IEnumerable<Snapshot> snapshots, RetentionPolicy policy, TimeZoneInfo zone, bool allowRemoveAll = false)
    {
        policy.Validate();
        if (policy.IsEmpty && !allowRemoveAll)
            throw new UsageException("no keep rules given, which would remove every snapshot: give --keep-* rules or a policy (or --unsafe-allow-remove-all if that is really meant)");

        var groups = snapshots
            .GroupBy(s => SnapshotGroupKey.Of(s, policy.GroupBy))
            .Select(g => new SnapshotGroup(g.Key, Decide(g.OrderByDescending(s => s.Time).ThenByDescending(s => s.Id).ToList(), policy, zone)))
            .OrderBy(g => g.Key.ToString(), StringComparer.Ordinal)
            .ToList();

        if (!allowRemoveAll)
            foreach (var group in groups)
                if (!group.Decisions.Any(d => d.Keep))
                    throw new UsageException($"refusing to remove every snapshot of {group.Key}: the policy keeps none of its {group.Decisions.Count} (add a rule that keeps one, or --unsafe-allow-remove-all)");
        return groups;
    }

    private static List<RetentionDecision> Decide(List<Snapshot> newestFirst, RetentionPolicy policy, TimeZoneInfo zone)
    {
        var decisions = new List<RetentionDecision>(newestFirst.Count);
        if (newestFirst.Count == 0) return decisions;
        var latest = newestFirst[0].Time;

        var countRules = CalendarUnits.All
            .Where(u => policy.CountFor(u) != 0)
            .Select(u => new CountRule(u, policy.CountFor(u)))
            .ToList();
        var tiers = policy.Tiers.Select(t => new TierRule(t, t.Within.StartBefore(latest, zone))).ToList();

        for (var i = 0; i < newestFirst.Count; i++)
        {
            var snapshot = newestFirst[i];
            var reasons = new List<string>();

            if (policy.KeepLast == -1 || i < policy.KeepLast) reasons.Add("last");

            foreach (var tags in policy.KeepTags)
                if (tags.All(t => snapshot.Tags?.Contains(t) == true))
                    reasons.Add($"tag {string.Join(",", tags)}");

            foreach (var rule in countRules)
            {
                if (rule.Remaining == 0) continue;
                var bucket = rule.Unit.BucketOf(snapshot.Time, zone);
                if (bucket == rule.LastBucket) continue;
                rule.LastBucket = bucket;
                if (rule.Remaining > 0) rule.Remaining--;
                reasons.Add(rule.Unit.Adjective());
            }

            foreach (var tier in tiers)
            {
                if (snapshot.Time < tier.Start) continue;
                if (tier.Tier.Every is { } unit)
                {
                    var bucket = unit.BucketOf(snapshot.Time, zone);
                    if (bucket == tier.LastBucket) continue;
                    tier.LastBucket = bucket;
                }
                reasons.Add(tier.Tier.Reason);
            }

            decisions.Add(new RetentionDecision(snapshot, reasons));
        }
        return decisions;
    }

    private sealed class CountRule(CalendarUnit unit, int count)
    {
        public CalendarUnit Unit { get; } = unit;
        public int Remaining { get; set; } = count;
        public long? LastBucket { get; set; }
    }

    private sealed class TierRule(RetentionTier tier, DateTimeOffset start)
    {
        public RetentionTier Tier { get; } = tier;
        public DateTimeOffset Start { get; } = start;
        public long? LastBucket { get; set; }
    }
}
