using System.Text.Json.Nodes;
using Strata.Retention;

namespace Strata.Cli.Output;

/// <summary>Retention policies and forget decisions as text and JSON.</summary>
internal static class RetentionView
{
    /// <summary>One line per rule, in words.</summary>
    public static IEnumerable<string> Describe(RetentionPolicy policy)
    {
        static string Count(int n, string what) => n == -1 ? $"every {what}" : $"{n} {what}{(n == 1 ? "" : "s")}";
        if (policy.KeepLast != 0) yield return policy.KeepLast == -1 ? "keep every snapshot" : $"keep the last {Count(policy.KeepLast, "snapshot")}";
        foreach (var unit in CalendarUnits.All)
            if (policy.CountFor(unit) is var n && n != 0)
                yield return $"keep the newest snapshot of {(n == -1 ? $"every {unit.Noun()}" : $"each of the last {Count(n, unit.Noun())}")} that {(n == 1 ? "has" : "have")} snapshots";
        foreach (var tier in policy.Tiers)
            yield return tier.Every is { } every
                ? $"within {tier.Within} of the newest snapshot, keep the newest of every {every.Noun()}"
                : $"within {tier.Within} of the newest snapshot, keep every snapshot";
        foreach (var tags in policy.KeepTags)
            yield return $"keep every snapshot tagged {string.Join(" and ", tags)}";
        yield return $"applied to each {(policy.GroupBy == SnapshotGrouping.None ? "repository (no grouping)" : $"group of snapshots with the same {policy.GroupBy.Format()}")}, " +
                     $"on the calendar of {policy.TimeZone ?? "the local time zone"}";
    }

    public static string FormatTime(DateTimeOffset time, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(time, zone).ToString("yyyy-MM-dd HH:mm:ss zzz", System.Globalization.CultureInfo.InvariantCulture);

    public static JsonObject GroupJson(SnapshotGroup group, TimeZoneInfo zone) => new()
    {
        ["message_type"] = "group",
        ["host"] = group.Key.Host,
        ["paths"] = group.Key.Paths is { } paths ? new JsonArray(paths.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()) : null,
        ["tags"] = group.Key.Tags is { } tags ? new JsonArray(tags.Select(t => (JsonNode)JsonValue.Create(t)).ToArray()) : null,
        ["snapshots"] = new JsonArray(group.Decisions.Select(d =>
        {
            var json = SnapshotView.ToJson(d.Snapshot);
            json["local_time"] = FormatTime(d.Snapshot.Time, zone);
            json["action"] = d.Keep ? "keep" : "remove";
            json["reasons"] = new JsonArray(d.Reasons.Select(r => (JsonNode)JsonValue.Create(r)).ToArray());
            return (JsonNode)json;
        }).ToArray()),
    };
}
