using Strata.Errors;
using Strata.Retention;

namespace Strata.Tests.Retention;

public class RetentionDurationTests
{
    [Theory]
    [InlineData("24h", 0, 0, 0, 24)]
    [InlineData("7d", 0, 0, 7, 0)]
    [InlineData("2w", 0, 0, 14, 0)]
    [InlineData("1y6m", 1, 6, 0, 0)]
    [InlineData("1y2m3d4h", 1, 2, 3, 4)]
    [InlineData("1w2d", 0, 0, 9, 0)]
    [InlineData(" 30D ", 0, 0, 30, 0)]
    public void Parses_restic_style_durations(string text, int years, int months, int days, int hours) =>
        Assert.Equal(new RetentionDuration(years, months, days, hours), RetentionDuration.Parse(text, "--keep-within"));

    [Theory]
    [InlineData("")]
    [InlineData("7")]
    [InlineData("d")]
    [InlineData("7x")]
    [InlineData("-1d")]
    [InlineData("1.5d")]
    [InlineData("1d1d")]
    [InlineData("0d")]
    [InlineData("0y0m")]
    [InlineData("99999999999d")]
    [InlineData("2000y")]
    public void Rejects_anything_else_naming_the_flag(string text)
    {
        var e = Assert.Throws<UsageException>(() => RetentionDuration.Parse(text, "--keep-within"));
        Assert.StartsWith("--keep-within: ", e.Message);
    }

    [Fact]
    public void Prints_in_canonical_form() => Assert.Equal("1y2m9d4h", RetentionDuration.Parse("4h1w2d2m1y", "x").ToString());

    public static TheoryData<string, string, string, string> Starts => new()
    {
        // zone, latest (wall clock, offset), duration, expected start (UTC)
        // One calendar day across spring forward in Berlin is 23 hours; 24h is 24.
        { "Europe/Berlin", "2026-03-29T12:00:00+02:00", "1d", "2026-03-28T11:00:00Z" },
        { "Europe/Berlin", "2026-03-29T12:00:00+02:00", "24h", "2026-03-28T10:00:00Z" },
        // Across fall back it is 25 hours.
        { "America/New_York", "2026-11-01T12:00:00-05:00", "1d", "2026-10-31T16:00:00Z" },
        { "America/New_York", "2026-11-01T12:00:00-05:00", "24h", "2026-10-31T17:00:00Z" },
        // A year back from 29 February is 28 February; a month back from 31 March is 29 February.
        { "UTC", "2028-02-29T12:00:00+00:00", "1y", "2027-02-28T12:00:00Z" },
        { "UTC", "2028-03-31T12:00:00+00:00", "1m", "2028-02-29T12:00:00Z" },
        { "UTC", "2029-03-01T00:00:00+00:00", "1y", "2028-03-01T00:00:00Z" },
        // A day back lands in the hour spring forward skipped: the window starts at the jump (03:00 CEST = 01:00Z).
        { "Europe/Berlin", "2026-03-30T02:30:00+02:00", "1d", "2026-03-29T01:00:00Z" },
        // A day back lands in the hour fall back repeats: its first occurrence (01:30 EDT), the wider window.
        { "America/New_York", "2026-11-02T01:30:00-05:00", "1d", "2026-11-01T05:30:00Z" },
        // Days, then hours as elapsed time.
        { "Europe/Berlin", "2026-03-30T12:00:00+02:00", "1d2h", "2026-03-29T08:00:00Z" },
    };

    [Theory]
    [MemberData(nameof(Starts))]
    public void Calendar_units_follow_the_wall_clock_and_hours_are_elapsed_time(string zone, string latest, string duration, string expectedUtc)
    {
        var start = RetentionDuration.Parse(duration, "x").StartBefore(DateTimeOffset.Parse(latest), TimeZoneInfo.FindSystemTimeZoneById(zone));
        Assert.Equal(DateTimeOffset.Parse(expectedUtc), start);
    }
}
