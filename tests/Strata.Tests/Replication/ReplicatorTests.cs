using Strata.Backup;
using Strata.Replication;
using Strata.Snapshots;
using Strata.Storage;
using Strata.Tests.TestSupport;
using StrataRepository = Strata.Repository.Repository;

namespace Strata.Tests.Replication;

public sealed class ReplicatorTests : IDisposable
{
    private readonly TempFolder _folder = new("replicate");
    private readonly TreeBuilder _tree;

    public ReplicatorTests()
    {
        _tree = new TreeBuilder(_folder.Combine("src"));
        _tree.RandomFile("big.bin", 6_000_000, seed: 1);
        for (int i = 0; i < 10; i++) _tree.RandomFile($"d/f{i}.bin", 3000 + i, seed: 10 + i);
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>A clock stopped at a local time of day (UTC as the local zone, so the test does not depend on the machine's).</summary>
    private sealed class StoppedClock(DateTime local) : TimeProvider
    {
        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
        public override DateTimeOffset GetUtcNow() => new(DateTime.SpecifyKind(local, DateTimeKind.Utc));
    }

    private static async Task<Snapshot> BackupAsync(StrataRepository repo, string path, string host = "alpha")
    {
        await repo.LoadIndexAsync();
        return (await new Archiver(repo, new BackupOptions { Paths = [path], Host = host }).RunAsync()).Snapshot;
    }

    private async Task<StrataRepository> TargetAsync(string name) => await TestRepositories.InitAsync(_folder.Combine(name), options: TestRepositories.FastOptions(packSize: 1 << 20));

    private Replicator.OpenTarget Opener => async (target, _, _) => await TestRepositories.OpenAsync(target.Repository);

    [Fact]
    public async Task Targets_in_their_window_get_the_snapshots_and_others_wait()
    {
        using var source = await TestRepositories.InitAsync(_folder.Combine("source"));
        (await TargetAsync("night")).Dispose();
        (await TargetAsync("day")).Dispose();
        await BackupAsync(source, _tree.Root);
        var policy = new ReplicationPolicy
        {
            Targets =
            [
                new ReplicationTarget { Name = "night", Repository = _folder.Combine("night"), Windows = [new ReplicationWindow { Start = "22:00", End = "06:00" }] },
                new ReplicationTarget { Name = "day", Repository = _folder.Combine("day"), Windows = [new ReplicationWindow { Start = "08:00", End = "17:00" }] },
            ],
        };

        var outcomes = await new Replicator(policy, new StoppedClock(new DateTime(2026, 3, 1, 23, 15, 0))).RunAsync(source, Opener);

        Assert.Equal(ReplicationStatus.Done, outcomes[0].Status);
        Assert.Single(outcomes[0].Copy!.Copied);
        Assert.Equal(ReplicationStatus.OutsideWindow, outcomes[1].Status);
        Assert.Contains("2026-03-02 08:00", outcomes[1].Message);
        using var day = await TestRepositories.OpenAsync(_folder.Combine("day"));
        Assert.Empty(await day.ListSnapshotsAsync());
    }

    [Fact]
    public async Task A_copy_stops_when_its_window_closes_and_the_next_run_finishes_it()
    {
        using var source = await TestRepositories.InitAsync(_folder.Combine("source"));
        (await TargetAsync("t")).Dispose();
        await BackupAsync(source, _tree.Root);
        var target = new ReplicationTarget { Name = "t", Repository = _folder.Combine("t"), Windows = [new ReplicationWindow { Start = "22:00", End = "06:00" }] };
        var policy = new ReplicationPolicy { Targets = [target] };

        // Five milliseconds before the window closes: far less than the copy needs.
        var stopped = await new Replicator(policy, new StoppedClock(new DateTime(2026, 3, 2, 5, 59, 59, 995))).RunAsync(source, Opener);
        var finished = await new Replicator(policy, new StoppedClock(new DateTime(2026, 3, 2, 23, 0, 0))).RunAsync(source, Opener);

        Assert.Equal(ReplicationStatus.StoppedAtWindowEnd, stopped[0].Status);
        Assert.Equal(ReplicationStatus.Done, finished[0].Status);
        Assert.Single(finished[0].Copy!.Copied);
    }

    [Fact]
    public async Task A_failing_target_does_not_stop_the_others()
    {
        using var source = await TestRepositories.InitAsync(_folder.Combine("source"));
        (await TargetAsync("good")).Dispose();
        await BackupAsync(source, _tree.Root);
        var policy = new ReplicationPolicy
        {
            Targets = [new ReplicationTarget { Name = "gone", Repository = _folder.Combine("missing") }, new ReplicationTarget { Name = "good", Repository = _folder.Combine("good") }],
        };

        var outcomes = await new Replicator(policy).RunAsync(source, async (t, _, ct) =>
            await StrataRepository.OpenAsync(new LocalDirectoryBackend(t.Repository), TestRepositories.Password, ct));

        Assert.Equal(ReplicationStatus.Failed, outcomes[0].Status);
        Assert.Contains("no repository", outcomes[0].Message);
        Assert.Equal(ReplicationStatus.Done, outcomes[1].Status);
    }

    [Fact]
    public async Task Retention_sends_only_what_it_keeps_and_never_sends_a_removed_snapshot_again()
    {
        using var source = await TestRepositories.InitAsync(_folder.Combine("source"));
        (await TargetAsync("t")).Dispose();
        await BackupAsync(source, _tree.Root);
        _tree.File("d/new1.txt", "1");
        await BackupAsync(source, _tree.Root);
        _tree.File("d/new2.txt", "2");
        var third = await BackupAsync(source, _tree.Root);
        var policy = new ReplicationPolicy { Targets = [new ReplicationTarget { Name = "t", Repository = _folder.Combine("t"), Retention = new TargetRetention { KeepLast = 1 } }] };

        var first = (await new Replicator(policy).RunAsync(source, Opener))[0];
        Assert.Equal(third.Id, Assert.Single(first.Copy!.Copied).Source);
        Assert.Empty(first.Removed);

        _tree.File("d/new3.txt", "3");
        var fourth = await BackupAsync(source, _tree.Root);
        var second = (await new Replicator(policy).RunAsync(source, Opener))[0];

        Assert.Equal(fourth.Id, Assert.Single(second.Copy!.Copied).Source);
        Assert.Single(second.Removed);
        using var target = await TestRepositories.OpenAsync(_folder.Combine("t"));
        Assert.Equal(fourth.Id, Assert.Single(await target.ListSnapshotsAsync()).Original);
    }

    [Fact]
    public async Task Latest_sends_the_newest_snapshot_of_each_host_and_hosts_narrows_the_choice()
    {
        using var source = await TestRepositories.InitAsync(_folder.Combine("source"));
        (await TargetAsync("t")).Dispose();
        await BackupAsync(source, _tree.Root, "alpha");
        var betaLatest = await BackupAsync(source, _tree.Root, "beta");
        var alphaLatest = await BackupAsync(source, _tree.Root, "alpha");
        await BackupAsync(source, _tree.Root, "gamma");
        var policy = new ReplicationPolicy { Targets = [new ReplicationTarget { Name = "t", Repository = _folder.Combine("t"), Snapshots = "latest", Hosts = ["alpha", "beta"] }] };

        var outcome = (await new Replicator(policy).RunAsync(source, Opener))[0];

        Assert.Equal(new[] { betaLatest.Id, alphaLatest.Id }.Order(), outcome.Copy!.Copied.Select(c => c.Source).Order());
    }
}
