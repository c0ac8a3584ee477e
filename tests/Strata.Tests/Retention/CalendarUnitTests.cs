using Strata.Retention;

namespace Strata.Tests.Retention;

public class CalendarUnitTests
{
    private static long Bucket(CalendarUnit unit, string time, string zone) =>
        unit.BucketOf(DateTimeOffset.Parse(time), TimeZoneInfo.FindSystemTimeZoneById(zone));

    [Fact]
    public void The_hour_repeated_when_clocks_go_back_is_two_hours()
    {
        Assert.NotEqual(Bucket(CalendarUnit.Hour, "2026-11-01T01:30-04:00", "America/New_York"), Bucket(CalendarUnit.Hour, "2026-11-01T01:30-05:00", "America/New_York"));
        Assert.Equal(Bucket(CalendarUnit.Hour, "2026-11-01T01:05-05:00", "America/New_York"), Bucket(CalendarUnit.Hour, "2026-11-01T01:55-05:00", "America/New_York"));
    }

    [Fact]
    public void Hours_follow_the_local_clock_in_zones_with_half_hour_offsets()
    {
        // India is UTC+05:30: 10:10 and 10:50 local are one local hour but straddle a UTC hour.
        Assert.Equal(Bucket(CalendarUnit.Hour, "2026-06-01T04:40Z", "Asia/Kolkata"), Bucket(CalendarUnit.Hour, "2026-06-01T05:20Z", "Asia/Kolkata"));
        Assert.NotEqual(Bucket(CalendarUnit.Hour, "2026-06-01T05:20Z", "Asia/Kolkata"), Bucket(CalendarUnit.Hour, "2026-06-01T05:40Z", "Asia/Kolkata"));
    }

    [Theory]
    [InlineData("2026-03-28T23:30Z", "2026-03-29T00:30+01:00", "Europe/Berlin", true)]   // both 29 March in Berlin
    [InlineData("2026-03-28T22:30Z", "2026-03-28T23:30Z", "Europe/Berlin", false)]       // 23:30 on the 28th vs 00:30 on the 29th
    [InlineData("2026-03-28T22:30Z", "2026-03-28T23:30Z", "UTC", true)]
    [InlineData("2028-02-29T23:59Z", "2028-03-01T00:00Z", "UTC", false)]
    [InlineData("2028-02-29T00:00Z", "2028-02-29T23:59Z", "UTC", true)]
    public void Days_are_local_calendar_days(string a, string b, string zone, bool same) =>
        Assert.Equal(same, Bucket(CalendarUnit.Day, a, zone) == Bucket(CalendarUnit.Day, b, zone));

    [Theory]
    [InlineData("2026-12-28T12:00Z", "2027-01-03T12:00Z", true)]   // Monday and Sunday of ISO week 2026-W53
    [InlineData("2027-01-03T12:00Z", "2027-01-04T12:00Z", false)]  // Sunday, then Monday of 2027-W01
    [InlineData("2025-12-29T12:00Z", "2026-01-01T12:00Z", true)]   // 2026-W01 starts in 2025
    public void Weeks_are_iso_weeks_across_new_year(string a, string b, bool same) =>
        Assert.Equal(same, Bucket(CalendarUnit.Week, a, "UTC") == Bucket(CalendarUnit.Week, b, "UTC"));

    [Fact]
    public void Months_and_years_are_local()
    {
        // 23:30 UTC on 31 December is already January (and the new year) in Berlin.
        Assert.NotEqual(Bucket(CalendarUnit.Month, "2026-12-31T23:30Z", "Europe/Berlin"), Bucket(CalendarUnit.Month, "2026-12-31T22:30Z", "Europe/Berlin"));
        Assert.NotEqual(Bucket(CalendarUnit.Year, "2026-12-31T23:30Z", "Europe/Berlin"), Bucket(CalendarUnit.Year, "2026-12-31T22:30Z", "Europe/Berlin"));
        Assert.Equal(Bucket(CalendarUnit.Year, "2026-12-31T23:30Z", "UTC"), Bucket(CalendarUnit.Year, "2026-12-31T22:30Z", "UTC"));
        Assert.Equal(Bucket(CalendarUnit.Month, "2028-02-29T12:00Z", "UTC"), Bucket(CalendarUnit.Month, "2028-02-01T00:00Z", "UTC"));
    }
}
