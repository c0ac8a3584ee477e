namespace Strata.Retention;

/// <summary>
/// One tier of a retention policy: within <see cref="Within"/> of the group's newest snapshot, keep
/// the newest snapshot of every <see cref="Every"/> (an hour, a day, …), or every snapshot when
/// <see cref="Every"/> is null. restic's <c>--keep-within</c> is a tier with every point,
/// <c>--keep-within-daily 30d</c> a tier with <c>every = day</c>.
/// </summary>
public sealed record RetentionTier(RetentionDuration Within, CalendarUnit? Every)
{
    /// <summary>The reason printed for snapshots this tier keeps: "within 24h", "daily within 30d".</summary>
    public string Reason => Every is { } unit ? $"{unit.Adjective()} within {Within}" : $"within {Within}";
}
