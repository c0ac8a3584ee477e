using Strata.Locking;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Locking;

public sealed class LeasesTests : IDisposable
{
    private readonly TempFolder _temp = new("leases");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_held_lease_is_live_and_is_gone_once_released()
    {
        using var repo = await TestRepositories.InitAsync(_temp.Combine("repo"));
        var holder = await Leases.AcquireAsync(repo, Lease.Backup);
        var entry = Assert.Single(await Leases.ListAsync(repo));
        Assert.False(entry.IsStale);
        Assert.Equal(Lease.Backup, entry.Lease.Kind);
        Assert.Equal(Environment.ProcessId, entry.Lease.Pid);
        await holder.DisposeAsync();
        Assert.Empty(await Leases.ListAsync(repo));
    }

    [Fact]
    public async Task Leases_of_dead_local_processes_and_unrefreshed_ones_are_stale_and_unlock_removes_only_those()
    {
        using var repo = await TestRepositories.InitAsync(_temp.Combine("repo"));
        var now = DateTimeOffset.UtcNow;
        await LeaseFiles.WriteAsync(repo, new Lease { Kind = Lease.Backup, Hostname = Environment.MachineName, Pid = int.MaxValue - 1, Created = now, Refreshed = now });
        await LeaseFiles.WriteAsync(repo, new Lease { Kind = Lease.Backup, Hostname = "elsewhere", Pid = 42, Created = now.AddHours(-2), Refreshed = now.AddHours(-1) });
        var fresh = await LeaseFiles.WriteAsync(repo, new Lease { Kind = Lease.Backup, Hostname = "elsewhere", Pid = 43, Created = now, Refreshed = now });
        await using var mine = await Leases.AcquireAsync(repo, Lease.Backup);

        var entries = await Leases.ListAsync(repo);
        Assert.Equal(4, entries.Count);
        Assert.Contains(entries, e => e.IsStale && e.StaleReason!.Contains("no longer running"));
        Assert.Contains(entries, e => e.IsStale && e.StaleReason!.Contains("not refreshed since"));

        var removed = await Leases.RemoveAsync(repo, all: false);
        Assert.Equal(2, removed.Count);
        Assert.Equal(new[] { fresh, mine.Id }.Order(), (await Leases.ListAsync(repo)).Select(e => e.Id).Order());
    }

    [Fact]
    public async Task A_pid_reused_by_another_process_does_not_keep_a_lease_alive()
    {
        using var repo = await TestRepositories.InitAsync(_temp.Combine("repo"));
        var now = DateTimeOffset.UtcNow;
        // Our own pid, but a different process start time: the process that wrote it is gone.
        await LeaseFiles.WriteAsync(repo, new Lease { Kind = Lease.Backup, Hostname = Environment.MachineName, Pid = Environment.ProcessId, ProcessStart = 1, Created = now, Refreshed = now });
        Assert.True(Assert.Single(await Leases.ListAsync(repo)).IsStale);
    }
}
