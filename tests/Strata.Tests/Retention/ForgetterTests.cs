using System.Security.Cryptography;
using Strata.Repository;
using Strata.Retention;
using Strata.Snapshots;
using Strata.Tests.TestSupport;
using StrataRepository = Strata.Repository.Repository;

namespace Strata.Tests.Retention;

/// <summary>Forget against a real repository: exactly the snapshot objects the rules do not keep are deleted.</summary>
public sealed class ForgetterTests : IDisposable
{
    private static readonly DateTimeOffset Day0 = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new("forget");

    public void Dispose() => _folder.Dispose();

    private static async Task<BlobId> SaveAsync(StrataRepository repo, DateTimeOffset time, string host = "host-a", string[]? tags = null) =>
        await repo.SaveSnapshotAsync(new Snapshot
        {
            Time = time,
            Tree = new BlobId(RandomNumberGenerator.GetBytes(32)),
            Paths = ["/data"],
            Hostname = host,
            Username = "test",
            Tags = tags?.ToList(),
            ProgramVersion = "strata-test",
        });

    private async Task<HashSet<BlobId>> StoredIdsAsync()
    {
        using var repo = await TestRepositories.OpenAsync(_folder.Path);
        return (await repo.ListSnapshotsAsync()).Select(s => s.Id).ToHashSet();
    }

    [Fact]
    public async Task Deletes_the_snapshots_the_rules_do_not_keep_and_nothing_else()
    {
        using var repo = await TestRepositories.InitAsync(_folder.Path);
        var ids = new List<BlobId>();
        for (var day = 0; day < 10; day++) ids.Add(await SaveAsync(repo, Day0.AddDays(day)));
        var otherHost = await SaveAsync(repo, Day0, host: "host-b");
        var reported = new List<BlobId>();

        var result = await new Forgetter(repo) { OnRemoved = s => reported.Add(s.Id) }
            .RunAsync(new RetentionPolicy { KeepLast = 3 }, TimeZoneInfo.Utc, new ForgetOptions());

        Assert.Equal(ids.Take(7).ToHashSet(), result.Removed.Select(s => s.Id).ToHashSet());
        Assert.Equal(result.Removed.Select(s => s.Id), reported);
        Assert.Equal(ids.Skip(7).Append(otherHost).ToHashSet(), await StoredIdsAsync());
        Assert.Equal(4, result.KeptCount);
    }

    [Fact]
    public async Task A_dry_run_decides_the_same_and_deletes_nothing()
    {
        using var repo = await TestRepositories.InitAsync(_folder.Path);
        for (var day = 0; day < 5; day++) await SaveAsync(repo, Day0.AddDays(day));
        var before = await StoredIdsAsync();

        var result = await new Forgetter(repo).RunAsync(new RetentionPolicy { KeepLast = 2 }, TimeZoneInfo.Utc, new ForgetOptions { DryRun = true });

        Assert.Equal(3, result.RemoveCount);
        Assert.Empty(result.Removed);
        Assert.Equal(before, await StoredIdsAsync());
    }

    [Fact]
    public async Task Only_snapshots_matching_the_filter_are_considered()
    {
        using var repo = await TestRepositories.InitAsync(_folder.Path);
        var a = new[] { await SaveAsync(repo, Day0), await SaveAsync(repo, Day0.AddDays(1)) };
        var b = new[] { await SaveAsync(repo, Day0, "host-b"), await SaveAsync(repo, Day0.AddDays(1), "host-b") };

        await new Forgetter(repo).RunAsync(new RetentionPolicy { KeepLast = 1 }, TimeZoneInfo.Utc, new ForgetOptions { Filter = new SnapshotFilter(Host: "host-b") });

        Assert.Equal(new HashSet<BlobId> { a[0], a[1], b[1] }, await StoredIdsAsync());
    }

    [Fact]
    public async Task A_refused_plan_deletes_nothing()
    {
        using var repo = await TestRepositories.InitAsync(_folder.Path);
        await SaveAsync(repo, Day0, tags: ["keep"]);
        await SaveAsync(repo, Day0, host: "host-b");
        var before = await StoredIdsAsync();

        await Assert.ThrowsAsync<Strata.Errors.UsageException>(() =>
            new Forgetter(repo).RunAsync(new RetentionPolicy { KeepTags = [["keep"]] }, TimeZoneInfo.Utc, new ForgetOptions()));

        Assert.Equal(before, await StoredIdsAsync());
    }

    [Fact]
    public async Task A_snapshot_added_while_forget_runs_is_never_deleted()
    {
        using var repo = await TestRepositories.InitAsync(_folder.Path);
        for (var day = 0; day < 5; day++) await SaveAsync(repo, Day0.AddDays(day));
        BlobId added = default;
        using var other = await TestRepositories.OpenAsync(_folder.Path);

        // Between forget's listing and its deletes another process stores a snapshot older than the kept one.
        var result = await new Forgetter(repo)
        {
            OnPlanned = _ => added = SaveAsync(other, Day0.AddDays(-1)).GetAwaiter().GetResult(),
        }.RunAsync(new RetentionPolicy { KeepLast = 1 }, TimeZoneInfo.Utc, new ForgetOptions());

        Assert.Equal(4, result.Removed.Count);
        var stored = await StoredIdsAsync();
        Assert.Contains(added, stored);
        Assert.Equal(2, stored.Count);
    }

    [Fact]
    public async Task Forgets_running_at_the_same_time_agree_and_all_succeed()
    {
        using (var repo = await TestRepositories.InitAsync(_folder.Path))
            for (var hour = 0; hour < 60; hour++) await SaveAsync(repo, Day0.AddHours(hour * 7));
        var policy = new RetentionPolicy { KeepDaily = 5, KeepWeekly = 2 };
        using var reference = await TestRepositories.OpenAsync(_folder.Path);
        var expected = RetentionPlanner.Plan(await reference.ListSnapshotsAsync(), policy, TimeZoneInfo.Utc).SelectMany(g => g.Kept).Select(s => s.Id).ToHashSet();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var repo = await TestRepositories.OpenAsync(_folder.Path);
            await new Forgetter(repo).RunAsync(policy, TimeZoneInfo.Utc, new ForgetOptions());
        }));

        Assert.Equal(expected, await StoredIdsAsync());
    }
}
