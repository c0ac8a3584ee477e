using Strata.Errors;

namespace Strata.Retention;

/// <summary>
/// Which snapshots to keep, as restic's forget expresses it: the last N, the newest of each of the
/// last N hours/days/weeks/months/years that have snapshots, everything tagged so, and tiers
/// ("every point for 24 h, hourly for 7 days, daily for 30 days, monthly for a year"). A snapshot is
/// kept when any rule keeps it. Counts of -1 mean unlimited; 0 turns a rule off.
/// </summary>
public sealed record RetentionPolicy
{
    public int KeepLast { get; init; }
    public int KeepHourly { get; init; }
    public int KeepDaily { get; init; }
    public int KeepWeekly { get; init; }
    public int KeepMonthly { get; init; }
    public int KeepYearly { get; init; }

    /// <summary>Each entry is a set of tags a snapshot must all have to be kept (restic's --keep-tag a,b).</summary>
    public IReadOnlyList<IReadOnlyList<string>> KeepTags { get; init; } = [];

    public IReadOnlyList<RetentionTier> Tiers { get; init; } = [];

    public SnapshotGrouping GroupBy { get; init; } = SnapshotGroupings.Default;

    /// <summary>IANA name of the zone whose calendar the buckets follow; null means the local zone of the machine running forget.</summary>
    public string? TimeZone { get; init; }

    /// <summary>True when no rule keeps anything: applying it would remove every snapshot.</summary>
    public bool IsEmpty =>
        KeepLast == 0 && KeepHourly == 0 && KeepDaily == 0 && KeepWeekly == 0 && KeepMonthly == 0 && KeepYearly == 0
        && KeepTags.Count == 0 && Tiers.Count == 0;

    public int CountFor(CalendarUnit unit) => unit switch
    {
        CalendarUnit.Hour => KeepHourly,
        CalendarUnit.Day => KeepDaily,
        CalendarUnit.Week => KeepWeekly,
        CalendarUnit.Month => KeepMonthly,
        CalendarUnit.Year => KeepYearly,
        _ => throw new ArgumentOutOfRangeException(nameof(unit)),
    };

    /// <summary>Throws a <see cref="UsageException"/> naming the first setting that makes no sense.</summary>
    public void Validate()
    {
        Count(KeepLast, "keep_last");
        foreach (var unit in CalendarUnits.All) Count(CountFor(unit), "keep_" + unit.Adjective());
        foreach (var tags in KeepTags)
            if (tags.Count == 0 || tags.Any(string.IsNullOrWhiteSpace))
                throw new UsageException("keep_tags: an entry names no tag");
        foreach (var tier in Tiers)
            if (tier.Within.IsZero) throw new UsageException("tiers: 'within' must be longer than zero");
        ResolveTimeZone(TimeZone);
    }

    /// <summary>The zone named by <paramref name="name"/>, or the machine's local zone for null.</summary>
    public static TimeZoneInfo ResolveTimeZone(string? name)
    {
        if (name is null) return TimeZoneInfo.Local;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new UsageException($"time_zone: '{name}' is not a known time zone (use an IANA name such as Europe/Berlin or UTC)");
        }
    }

    private static void Count(int value, string what)
    {
        if (value < -1) throw new UsageException($"{what}: {value} is not a count (give a number of snapshots, or -1 for unlimited)");
    }
}
