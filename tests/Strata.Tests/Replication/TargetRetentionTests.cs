using Strata.Replication;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Tests.Replication;

public sealed class TargetRetentionTests
{
    private static Snapshot At(string localTime, string host = "h", int n = 0)
    {
        var time = new DateTimeOffset(DateTime.Parse(localTime), TimeZoneInfo.Local.GetUtcOffset(DateTime.Parse(localTime)));
        var id = new byte[32];
        BitConverter.TryWriteBytes(id, time.Ticks + n);
        return new Snapshot { Time = time, Hostname = host, Paths = ["/data"], Id = new BlobId(id) };
    }

    private static string[] Removed(TargetRetention retention, params Snapshot[] snapshots) =>
        retention.ToRemove(snapshots).Select(s => s.Time.ToLocalTime().ToString("yyyy-MM-dd HH:mm")).Order().ToArray();

    [Fact]
    public void Keep_last_keeps_the_newest_of_each_host_and_paths()
    {
        var removed = Removed(new TargetRetention { KeepLast = 2 },
            At("2026-01-01 10:00"), At("2026-01-02 10:00"), At("2026-01-03 10:00"), At("2026-01-01 09:00", host: "other"));

        Assert.Equal(["2026-01-01 10:00"], removed);
    }

    [Fact]
    public void Keep_daily_keeps_the_newest_snapshot_of_each_of_the_last_days_that_have_one()
    {
        var removed = Removed(new TargetRetention { KeepDaily = 2 },
            At("2026-01-01 08:00"), At("2026-01-01 20:00"), At("2026-01-03 07:00"), At("2026-01-03 09:00"), At("2025-12-30 12:00"));

        Assert.Equal(["2025-12-30 12:00", "2026-01-01 08:00", "2026-01-03 07:00"], removed);
    }

    [Fact]
    public void Rules_add_up_a_snapshot_kept_by_any_rule_stays()
    {
        var removed = Removed(new TargetRetention { KeepLast = 1, KeepMonthly = 2 },
            At("2026-01-05 10:00"), At("2026-01-20 10:00"), At("2026-02-03 10:00"), At("2026-02-04 10:00"));

        Assert.Equal(["2026-01-05 10:00", "2026-02-03 10:00"], removed);
    }

    [Fact]
    public void Weeks_are_iso_weeks()
    {
        // 2026-01-04 is a Sunday (ISO week 1 of 2026), 2026-01-05 a Monday (week 2).
        var removed = Removed(new TargetRetention { KeepWeekly = 2 },
            At("2026-01-03 10:00"), At("2026-01-04 10:00"), At("2026-01-05 10:00"), At("2026-01-06 10:00"));

        Assert.Equal(["2026-01-03 10:00", "2026-01-05 10:00"], removed);
    }
}
