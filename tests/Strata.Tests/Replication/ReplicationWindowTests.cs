using Strata.Replication;

namespace Strata.Tests.Replication;

public sealed class ReplicationWindowTests
{
    private static ReplicationWindow Window(string start, string end) => new() { Start = start, End = end };

    [Theory]
    [InlineData("22:00", "06:00", "23:30", true)]
    [InlineData("22:00", "06:00", "22:00", true)]
    [InlineData("22:00", "06:00", "00:00", true)]
    [InlineData("22:00", "06:00", "05:59", true)]
    [InlineData("22:00", "06:00", "06:00", false)]
    [InlineData("22:00", "06:00", "12:00", false)]
    [InlineData("22:00", "06:00", "21:59", false)]
    [InlineData("08:00", "17:00", "08:00", true)]
    [InlineData("08:00", "17:00", "16:59", true)]
    [InlineData("08:00", "17:00", "17:00", false)]
    [InlineData("08:00", "17:00", "03:00", false)]
    [InlineData("00:00", "00:00", "13:37", true)]
    [InlineData("00:00", "24:00", "23:59", true)]
    [InlineData("18:00", "24:00", "23:59", true)]
    [InlineData("18:00", "24:00", "00:00", false)]
    public void A_window_holds_its_start_but_not_its_end_and_may_cross_midnight(string start, string end, string at, bool inside)
    {
        Assert.Equal(inside, Window(start, end).Contains(TimeOnly.Parse(at)));
    }

    [Fact]
    public void An_open_window_closes_at_its_end_on_the_same_or_the_next_day()
    {
        var night = Window("22:00", "06:00");

        Assert.Equal(new DateTime(2026, 3, 2, 6, 0, 0), night.ClosesAfter(new DateTime(2026, 3, 1, 23, 0, 0)));
        Assert.Equal(new DateTime(2026, 3, 2, 6, 0, 0), night.ClosesAfter(new DateTime(2026, 3, 2, 1, 0, 0)));
        Assert.Null(Window("00:00", "00:00").ClosesAfter(DateTime.Now));
    }

    [Fact]
    public void The_next_opening_is_today_or_tomorrow()
    {
        var night = Window("22:00", "06:00");

        Assert.Equal(new DateTime(2026, 3, 1, 22, 0, 0), night.NextOpening(new DateTime(2026, 3, 1, 12, 0, 0)));
        Assert.Equal(new DateTime(2026, 3, 2, 22, 0, 0), night.NextOpening(new DateTime(2026, 3, 1, 22, 30, 0)));
    }
}
