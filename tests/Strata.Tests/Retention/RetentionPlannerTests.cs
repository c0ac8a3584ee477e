using Strata.Errors;
using Strata.Retention;

namespace Strata.Tests.Retention;

/// <summary>Retention rules on synthetic snapshot timelines: which snapshots each rule keeps, and why.</summary>
public class RetentionPlannerTests
{
    /// <summary>One row: a zone, the snapshots (wall-clock times there), a policy, and the labels it must keep, newest first.</summary>
    public sealed record Case(string Name, string Zone, string[] Times, RetentionPolicy Policy, string[] Kept)
    {
        public override string ToString() => Name;
    }

    private static readonly RetentionPolicy P = new();

    public static TheoryData<Case> Cases => new()
    {
        new("keep-last keeps the newest N", "UTC",
            ["2026-01-01 10:00", "2026-01-02 10:00", "2026-01-03 10:00", "2026-01-04 10:00", "2026-01-05 10:00"],
            P with { KeepLast = 3 },
            ["2026-01-05 10:00", "2026-01-04 10:00", "2026-01-03 10:00"]),
        new("keep-last -1 keeps everything", "UTC",
            ["2026-01-01 10:00", "2026-01-02 10:00"],
            P with { KeepLast = -1 },
            ["2026-01-02 10:00", "2026-01-01 10:00"]),
        new("keep-daily keeps the newest of each day, and days without snapshots cost nothing", "UTC",
            ["2026-01-01 08:00", "2026-01-01 20:00", "2026-01-03 09:00", "2026-01-03 09:30", "2026-01-07 23:59", "2026-01-08 00:00"],
            P with { KeepDaily = 3 },
            ["2026-01-08 00:00", "2026-01-07 23:59", "2026-01-03 09:30"]),
        new("keep-daily -1 keeps the newest of every day", "UTC",
            ["2026-01-01 08:00", "2026-01-01 20:00", "2026-01-03 09:00", "2026-01-03 09:30"],
            P with { KeepDaily = -1 },
            ["2026-01-03 09:30", "2026-01-01 20:00"]),
        new("keep-hourly across spring forward (Berlin, 02:00 -> 03:00)", "Europe/Berlin",
            ["2026-03-29 00:30", "2026-03-29 01:10", "2026-03-29 01:50", "2026-03-29 03:10", "2026-03-29 03:40", "2026-03-29 04:20"],
            P with { KeepHourly = 3 },
            ["2026-03-29 04:20", "2026-03-29 03:40", "2026-03-29 01:50"]),
        new("keep-hourly across fall back (New York): the repeated 1 o'clock hour is two hours", "America/New_York",
            ["2026-11-01 00:40 -04:00", "2026-11-01 01:20 -04:00", "2026-11-01 01:50 -04:00", "2026-11-01 01:10 -05:00", "2026-11-01 01:40 -05:00", "2026-11-01 02:30 -05:00"],
            P with { KeepHourly = 3 },
            ["2026-11-01 02:30 -05:00", "2026-11-01 01:40 -05:00", "2026-11-01 01:50 -04:00"]),
        new("keep-daily follows the zone's days, not UTC's (Berlin)", "Europe/Berlin",
            ["2026-03-28 22:30Z", "2026-03-28 23:30Z", "2026-03-29 21:30Z", "2026-03-29 22:30Z"],
            P with { KeepDaily = 3 },
            ["2026-03-29 22:30Z", "2026-03-29 21:30Z", "2026-03-28 22:30Z"]),
        new("keep-daily on the same instants in UTC", "UTC",
            ["2026-03-28 22:30Z", "2026-03-28 23:30Z", "2026-03-29 21:30Z", "2026-03-29 22:30Z"],
            P with { KeepDaily = 3 },
            ["2026-03-29 22:30Z", "2026-03-28 23:30Z"]),
        new("keep-within 24h across spring forward reaches 24 hours back", "Europe/Berlin",
            ["2026-03-28 11:30", "2026-03-28 12:30", "2026-03-29 12:00"],
            P with { Tiers = [new(RetentionDuration.Parse("24h", "x"), null)] },
            ["2026-03-29 12:00", "2026-03-28 12:30", "2026-03-28 11:30"]),
        new("keep-within 1d across spring forward is one calendar day (23 hours)", "Europe/Berlin",
            ["2026-03-28 11:30", "2026-03-28 12:30", "2026-03-29 12:00"],
            P with { Tiers = [new(RetentionDuration.Parse("1d", "x"), null)] },
            ["2026-03-29 12:00", "2026-03-28 12:30"]),
        new("keep-within 1d across fall back is 25 hours", "America/New_York",
            ["2026-10-31 11:30", "2026-10-31 12:30", "2026-11-01 12:00"],
            P with { Tiers = [new(RetentionDuration.Parse("1d", "x"), null)] },
            ["2026-11-01 12:00", "2026-10-31 12:30"]),
        new("keep-within is measured from the newest snapshot, not from now, and includes its boundary", "UTC",
            ["2020-01-01 00:00", "2020-01-06 23:59", "2020-01-07 00:00", "2020-01-08 00:00"],
            P with { Tiers = [new(RetentionDuration.Parse("1d", "x"), null)] },
            ["2020-01-08 00:00", "2020-01-07 00:00"]),
        new("keep-within 1y from a leap day reaches back to 28 February", "UTC",
            ["2027-02-28 11:59", "2027-02-28 12:00", "2027-03-01 00:00", "2028-02-29 12:00"],
            P with { Tiers = [new(RetentionDuration.Parse("1y", "x"), null)] },
            ["2028-02-29 12:00", "2027-03-01 00:00", "2027-02-28 12:00"]),
        new("keep-within 1m from 31 March reaches back to the leap day", "UTC",
            ["2028-02-28 13:00", "2028-02-29 11:00", "2028-02-29 13:00", "2028-03-31 12:00"],
            P with { Tiers = [new(RetentionDuration.Parse("1m", "x"), null)] },
            ["2028-03-31 12:00", "2028-02-29 13:00"]),
        new("keep-daily around a leap day: 28 Feb, 29 Feb and 1 Mar are three days", "UTC",
            ["2028-02-28 10:00", "2028-02-29 09:00", "2028-02-29 10:00", "2028-03-01 10:00"],
            P with { KeepDaily = 3 },
            ["2028-03-01 10:00", "2028-02-29 10:00", "2028-02-28 10:00"]),
        new("keep-monthly: 29 February is February", "UTC",
            ["2028-01-31 10:00", "2028-02-01 10:00", "2028-02-29 10:00", "2028-03-01 10:00"],
            P with { KeepMonthly = 2 },
            ["2028-03-01 10:00", "2028-02-29 10:00"]),
        new("keep-weekly uses ISO weeks across new year", "UTC",
            ["2026-12-28 10:00", "2027-01-01 10:00", "2027-01-03 10:00", "2027-01-04 10:00"],
            P with { KeepWeekly = 2 },
            ["2027-01-04 10:00", "2027-01-03 10:00"]),
        new("keep-yearly keeps the newest of each year, local new year (Berlin)", "Europe/Berlin",
            ["2024-06-01 10:00", "2025-12-31 22:30Z", "2025-12-31 23:30Z", "2026-05-01 10:00"],
            P with { KeepYearly = 2 },
            ["2026-05-01 10:00", "2025-12-31 22:30Z"]),
        new("rules add up: a snapshot kept by any rule stays", "UTC",
            ["2026-01-01 10:00", "2026-01-15 10:00", "2026-02-01 10:00", "2026-02-02 10:00", "2026-02-03 10:00"],
            P with { KeepLast = 1, KeepDaily = 2, KeepMonthly = 2 },
            ["2026-02-03 10:00", "2026-02-02 10:00", "2026-01-15 10:00"]),
        new("tiers: every point for 24h, hourly for 7d, daily for 30d, monthly for a year", "UTC",
            [
                "2026-06-30 12:00", // within 24h
                "2026-06-30 02:00", "2026-06-29 18:00", "2026-06-29 11:00", "2026-06-29 11:45", // one hour: its newest
                "2026-06-26 09:10", "2026-06-26 09:40", // same hour, 4 days back: newest of the hour
                "2026-06-15 08:00", "2026-06-15 20:00", // same day, 15 days back: newest of the day
                "2026-05-20 08:00", "2026-05-02 08:00", // May, beyond 30 days: newest of the month
                "2025-07-15 08:00", // July 2025, within the year
                "2025-06-29 08:00", // just beyond a year
            ],
            P with
            {
                Tiers =
                [
                    new(RetentionDuration.Parse("24h", "x"), null), new(RetentionDuration.Parse("7d", "x"), CalendarUnit.Hour),
                    new(RetentionDuration.Parse("30d", "x"), CalendarUnit.Day), new(RetentionDuration.Parse("1y", "x"), CalendarUnit.Month),
                ],
            },
            ["2026-06-30 12:00", "2026-06-30 02:00", "2026-06-29 18:00", "2026-06-29 11:45", "2026-06-26 09:40", "2026-06-15 20:00", "2026-05-20 08:00", "2025-07-15 08:00"]),
        new("keep-within-daily is a tier", "UTC",
            ["2026-01-01 10:00", "2026-01-09 10:00", "2026-01-09 11:00", "2026-01-10 09:00", "2026-01-10 10:00"],
            P with { Tiers = [new(RetentionDuration.Parse("3d", "x"), CalendarUnit.Day)] },
            ["2026-01-10 10:00", "2026-01-09 11:00"]),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Keeps_exactly_what_the_rules_say(Case c)
    {
        var timeline = new Timeline(c.Zone).At(c.Times);
        Assert.Equal(c.Kept, timeline.Kept(c.Policy));
    }

    [Fact]
    public void Every_rule_that_keeps_a_snapshot_is_named()
    {
        var timeline = new Timeline("UTC").At("2026-01-01 10:00", "2026-01-02 10:00", "2026-01-02 12:00");
        timeline.With("host-a", ["/data"], ["release"], "2025-06-01 00:00");
        var policy = P with { KeepLast = 1, KeepDaily = 2, KeepTags = [["release"]], Tiers = [new(RetentionDuration.Parse("1d", "x"), null)] };

        var reasons = timeline.Reasons(policy);

        Assert.Equal("last, daily, within 1d", reasons["2026-01-02 12:00"]);
        Assert.Equal("within 1d", reasons["2026-01-02 10:00"]);
        Assert.Equal("daily", reasons["2026-01-01 10:00"]);
        Assert.Equal("tag release", reasons["2025-06-01 00:00"]);
    }

    [Fact]
    public void Keep_tag_needs_every_tag_of_an_entry_and_entries_are_alternatives()
    {
        var timeline = new Timeline("UTC");
        timeline.With("h", ["/d"], ["a"], "2026-01-01 01:00");
        timeline.With("h", ["/d"], ["a", "b"], "2026-01-01 02:00");
        timeline.With("h", ["/d"], ["c"], "2026-01-01 03:00");
        timeline.With("h", ["/d"], null, "2026-01-01 04:00");

        Assert.Equal(["2026-01-01 02:00"], timeline.Kept(P with { KeepTags = [["a", "b"]] }));
        Assert.Equal(["2026-01-01 03:00", "2026-01-01 02:00"], timeline.Kept(P with { KeepTags = [["a", "b"], ["c"]] }));
        Assert.Equal(["2026-01-01 04:00", "2026-01-01 02:00", "2026-01-01 01:00"], timeline.Kept(P with { KeepLast = 1, KeepTags = [["a"]] }));
    }

    [Fact]
    public void Rules_apply_to_each_group_separately()
    {
        var timeline = new Timeline("UTC");
        timeline.With("alpha", ["/home"], null, "2026-01-01 01:00", "2026-01-01 02:00");
        timeline.With("beta", ["/home"], null, "2026-01-01 03:00", "2026-01-01 04:00");
        timeline.With("beta", ["/etc", "/srv"], null, "2026-01-01 05:00");
        timeline.With("beta", ["/srv", "/etc"], ["x"], "2026-01-01 06:00"); // same paths in another order: one series

        var byHostAndPaths = RetentionPlanner.Plan(timeline.Snapshots, P with { KeepLast = 1 }, timeline.Zone);
        Assert.Equal(3, byHostAndPaths.Count);
        Assert.Equal(["2026-01-01 02:00", "2026-01-01 06:00", "2026-01-01 04:00"], byHostAndPaths.SelectMany(g => g.Kept).Select(timeline.Label).ToList());
        Assert.Equal(["host alpha, paths /home", "host beta, paths /etc /srv", "host beta, paths /home"], byHostAndPaths.Select(g => g.Key.ToString()).ToList());

        Assert.Equal(["2026-01-01 02:00", "2026-01-01 06:00"], timeline.Kept(P with { KeepLast = 1, GroupBy = SnapshotGrouping.Host }));
        Assert.Equal(["2026-01-01 06:00"], timeline.Kept(P with { KeepLast = 1, GroupBy = SnapshotGrouping.None }));
        Assert.Equal(["2026-01-01 05:00", "2026-01-01 06:00"], timeline.Kept(P with { KeepLast = 1, GroupBy = SnapshotGrouping.Tags }));
    }

    [Fact]
    public void Tiers_keep_a_year_of_half_hourly_backups_down_to_the_expected_points()
    {
        var timeline = new Timeline("Europe/Berlin");
        var end = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var times = Enumerable.Range(0, 2 * 24 * 400).Select(i => end.AddMinutes(-30 * i)).ToList();
        timeline.At(times.Select(t => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm") + "Z").ToArray());
        var policy = RetentionPolicyDocument.Parse("""
            {"tiers": [{"within": "24h", "every": "all"}, {"within": "7d", "every": "hour"},
                       {"within": "30d", "every": "day"}, {"within": "1y", "every": "month"}]}
            """, "test", yaml: false);

        var kept = RetentionPlanner.Plan(timeline.Snapshots, policy, timeline.Zone).Single().Kept.Select(s => s.Time).ToList();

        var zone = timeline.Zone;
        var local = kept.Select(t => TimeZoneInfo.ConvertTime(t, zone)).ToList();
        Assert.Equal(49, kept.Count(t => t >= end.AddHours(-24)));                          // every point, both ends included
        var hourly = local.Where(t => t < end.AddHours(-24) && t >= end.AddDays(-7)).ToList();
        Assert.Equal(hourly.Count, hourly.Select(t => (t.Date, t.Hour)).Distinct().Count()); // one per hour
        Assert.Equal(6 * 24, hourly.Count);
        Assert.All(hourly, t => Assert.Equal(30, t.Minute));                                // the newest of each hour
        var daily = local.Where(t => t < end.AddDays(-7) && t >= end.AddDays(-30)).ToList();
        Assert.Equal(daily.Count, daily.Select(t => t.Date).Distinct().Count());
        Assert.All(daily, t => Assert.Equal(new TimeSpan(23, 30, 0), t.TimeOfDay));        // local 23:30 is the day's last
        var monthly = local.Where(t => t < end.AddDays(-30)).ToList();
        Assert.Equal(monthly.Count, monthly.Select(t => (t.Year, t.Month)).Distinct().Count());
        Assert.True(kept.Min() >= end.AddYears(-1), "nothing beyond the year is kept");
        Assert.Equal(kept.Count, kept.Distinct().Count());
    }

    [Fact]
    public void No_rules_is_refused_rather_than_removing_everything()
    {
        var timeline = new Timeline("UTC").At("2026-01-01 10:00");
        var e = Assert.Throws<UsageException>(() => RetentionPlanner.Plan(timeline.Snapshots, P, timeline.Zone));
        Assert.Contains("no keep rules", e.Message);

        var all = RetentionPlanner.Plan(timeline.Snapshots, P, timeline.Zone, allowRemoveAll: true);
        Assert.Empty(all.SelectMany(g => g.Kept));
    }

    [Fact]
    public void Rules_that_keep_nothing_of_a_group_are_refused_naming_the_group()
    {
        var timeline = new Timeline("UTC");
        timeline.With("alpha", ["/home"], ["keep"], "2026-01-01 01:00");
        timeline.With("beta", ["/home"], null, "2026-01-01 02:00");

        var e = Assert.Throws<UsageException>(() => RetentionPlanner.Plan(timeline.Snapshots, P with { KeepTags = [["keep"]] }, timeline.Zone));
        Assert.Contains("host beta", e.Message);

        var plan = RetentionPlanner.Plan(timeline.Snapshots, P with { KeepTags = [["keep"]] }, timeline.Zone, allowRemoveAll: true);
        Assert.Equal(["2026-01-01 01:00"], plan.SelectMany(g => g.Kept).Select(timeline.Label).ToList());
    }

    [Fact]
    public void Adding_a_snapshot_never_makes_a_removed_one_kept()
    {
        // forget deletes from the list it read; a backup may add a snapshot meanwhile. Every rule must be
        // monotone: with the extra snapshot, the old snapshots it keeps are a subset of those kept without it.
        var policies = new[]
        {
            P with { KeepLast = 3 }, P with { KeepHourly = 5, KeepDaily = 3 }, P with { KeepWeekly = 2, KeepMonthly = 2 },
            P with { Tiers = [new(RetentionDuration.Parse("2d", "x"), null), new(RetentionDuration.Parse("10d", "x"), CalendarUnit.Day)] },
        };
        var random = new Random(7);
        for (var round = 0; round < 200; round++)
        {
            var timeline = new Timeline("Europe/Berlin");
            var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
            timeline.At(Enumerable.Range(0, 40).Select(_ => start.AddMinutes(random.Next(0, 60 * 24 * 60)).UtcDateTime.ToString("yyyy-MM-dd HH:mm") + "Z").Distinct().ToArray());
            var before = timeline.Snapshots.ToList();
            var added = start.AddMinutes(random.Next(0, 60 * 24 * 70)).UtcDateTime.ToString("yyyy-MM-dd HH:mm") + "Z";
            var policy = policies[round % policies.Length];
            var keptBefore = RetentionPlanner.Plan(before, policy, timeline.Zone).SelectMany(g => g.Kept).Select(s => s.Id).ToHashSet();
            timeline.With("host-a", ["/data"], ["new"], added);
            var keptAfter = RetentionPlanner.Plan(timeline.Snapshots, policy, timeline.Zone).SelectMany(g => g.Kept).Select(s => s.Id).ToHashSet();
            keptAfter.IntersectWith(before.Select(s => s.Id));
            Assert.True(keptAfter.IsSubsetOf(keptBefore), $"round {round}: adding {added} made a removed snapshot kept");
        }
    }
}
