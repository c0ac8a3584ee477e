using System.Globalization;
using Strata.Errors;

namespace Strata.Retention;

/// <summary>The periods a retention rule keeps one snapshot of: an hour, a day, an ISO week, a month, a year.</summary>
public enum CalendarUnit
{
    Hour,
    Day,
    Week,
    Month,
    Year,
}

public static class CalendarUnits
{
    public static readonly CalendarUnit[] All = [CalendarUnit.Hour, CalendarUnit.Day, CalendarUnit.Week, CalendarUnit.Month, CalendarUnit.Year];

    /// <summary>
    /// Which period of <paramref name="unit"/> <paramref name="time"/> falls in, on <paramref name="zone"/>'s
    /// wall clock. Days, weeks (ISO 8601, Monday first), months and years are local calendar periods.
    /// Hours are local clock hours too, but an hour the clock repeats when DST ends counts as two
    /// hours (its key is the instant the hour began), so "hourly" never merges two real hours.
    /// </summary>
    public static long BucketOf(this CalendarUnit unit, DateTimeOffset time, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(time, zone);
        var wall = local.DateTime;
        return unit switch
        {
            CalendarUnit.Hour => new DateTimeOffset(wall.Date.AddHours(wall.Hour), local.Offset).UtcTicks,
            CalendarUnit.Day => DateOnly.FromDateTime(wall).DayNumber,
            CalendarUnit.Week => ISOWeek.GetYear(wall) * 100L + ISOWeek.GetWeekOfYear(wall),
            CalendarUnit.Month => wall.Year * 100L + wall.Month,
            CalendarUnit.Year => wall.Year,
            _ => throw new ArgumentOutOfRangeException(nameof(unit)),
        };
    }

    /// <summary>The adjective used in flags and reasons: hourly, daily, weekly, monthly, yearly.</summary>
    public static string Adjective(this CalendarUnit unit) => unit switch
    {
        CalendarUnit.Hour => "hourly",
        CalendarUnit.Day => "daily",
        CalendarUnit.Week => "weekly",
        CalendarUnit.Month => "monthly",
        CalendarUnit.Year => "yearly",
        _ => throw new ArgumentOutOfRangeException(nameof(unit)),
    };

    /// <summary>The noun used in policy files (<c>"every": "day"</c>).</summary>
    public static string Noun(this CalendarUnit unit) => unit.ToString().ToLowerInvariant();

    public static CalendarUnit ParseNoun(string text, string what) => text.Trim().ToLowerInvariant() switch
    {
        "hour" or "hourly" => CalendarUnit.Hour,
        "day" or "daily" => CalendarUnit.Day,
        "week" or "weekly" => CalendarUnit.Week,
        "month" or "monthly" => CalendarUnit.Month,
        "year" or "yearly" => CalendarUnit.Year,
        _ => throw new UsageException($"{what}: '{text}' is not a period (use all, hour, day, week, month or year)"),
    };
}
