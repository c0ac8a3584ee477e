namespace Strata.Retention;

/// <summary>Turning a time zone's wall-clock readings into instants, including the readings DST skips or repeats.</summary>
internal static class WallClock
{
    /// <summary>
    /// The instant at which <paramref name="zone"/>'s clocks show <paramref name="wall"/>. A skipped reading
    /// (spring forward) maps to the moment of the jump; a repeated one (fall back) to its first occurrence.
    /// </summary>
    public static DateTimeOffset ToInstant(DateTime wall, TimeZoneInfo zone)
    {
        wall = DateTime.SpecifyKind(wall, DateTimeKind.Unspecified);
        if (zone.IsAmbiguousTime(wall))
        {
            var largest = zone.GetAmbiguousTimeOffsets(wall).Max();
            return new DateTimeOffset(wall, largest);
        }
        if (zone.IsInvalidTime(wall))
        {
            // The first reading after the gap is the jump itself; gaps are whole minutes (at most a day, Samoa 2011).
            var after = new DateTime(wall.Ticks - wall.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Unspecified);
            while (zone.IsInvalidTime(after)) after = after.AddMinutes(1);
            return new DateTimeOffset(after, zone.GetUtcOffset(after));
        }
        return new DateTimeOffset(wall, zone.GetUtcOffset(wall));
    }
}
