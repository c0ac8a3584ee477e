using System.Text;
using Strata.Errors;

namespace Strata.Retention;

/// <summary>
/// A span of time written the way restic writes it: <c>1y6m</c>, <c>7d</c>, <c>36h</c>, <c>2w</c>
/// (y = years, m = months, w = weeks, d = days, h = hours). Years, months and days are calendar
/// units on the wall clock of a time zone (one day across a DST change is 23 or 25 hours; a year
/// back from 29 February is 28 February); hours are exact hours.
/// </summary>
public readonly record struct RetentionDuration(int Years, int Months, int Days, int Hours)
{
    public bool IsZero => Years == 0 && Months == 0 && Days == 0 && Hours == 0;

    /// <summary>Parses <paramref name="text"/>; <paramref name="what"/> names the flag or setting in the error.</summary>
    public static RetentionDuration Parse(string text, string what)
    {
        var s = text.Trim();
        if (s.Length == 0) throw Bad(text, what);
        int years = 0, months = 0, days = 0, hours = 0, i = 0;
        var seen = new HashSet<char>();
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start || i == s.Length) throw Bad(text, what);
            if (!int.TryParse(s.AsSpan(start, i - start), out var n) || n > 100_000) throw Bad(text, what);
            var unit = char.ToLowerInvariant(s[i++]);
            if (!seen.Add(unit)) throw Bad(text, what);
            switch (unit)
            {
                case 'y': years = n; break;
                case 'm': months = n; break;
                case 'w': days = checked(days + 7 * n); break;
                case 'd': days = checked(days + n); break;
                case 'h': hours = n; break;
                default: throw Bad(text, what);
            }
        }
        var duration = new RetentionDuration(years, months, days, hours);
        if (duration.IsZero) throw new UsageException($"{what}: '{text}' is zero; give a duration longer than that");
        if (years > 1000 || (long)years * 12 + months > 12_000) throw new UsageException($"{what}: '{text}' is longer than 1000 years");
        return duration;
    }

    /// <summary>
    /// The earliest instant still "within" this duration of <paramref name="latest"/>: calendar units
    /// are taken back on <paramref name="zone"/>'s wall clock, then hours as elapsed time. A wall-clock
    /// time that does not exist (skipped by a DST change) becomes the moment of the change; one that
    /// exists twice becomes the earlier, so doubt always widens the window (keeps more).
    /// </summary>
    public DateTimeOffset StartBefore(DateTimeOffset latest, TimeZoneInfo zone)
    {
        var wall = TimeZoneInfo.ConvertTime(latest, zone).DateTime;
        var back = wall.AddMonths(-(Years * 12 + Months)).AddDays(-Days);
        return WallClock.ToInstant(back, zone).AddHours(-Hours);
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        if (Years != 0) text.Append(Years).Append('y');
        if (Months != 0) text.Append(Months).Append('m');
        if (Days != 0) text.Append(Days).Append('d');
        if (Hours != 0) text.Append(Hours).Append('h');
        return text.ToString();
    }

    private static UsageException Bad(string text, string what) =>
        new($"{what}: '{text}' is not a duration (write e.g. 1y6m, 30d, 2w, 36h: y = years, m = months, w = weeks, d = days, h = hours)");
}
