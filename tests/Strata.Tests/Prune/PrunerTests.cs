using Strata.Backup;
using Strata.Check;
using Strata.Errors;
using Strata.Locking;
using Strata.Prune;
using Strata.Repository;
using Strata.Restore;
using Strata.Snapshots;
using Strata.Tests.Locking;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Prune;

/// <summary>
/// Two-phase garbage collection: what no snapshot references goes, what one does stays readable,
/// and writers that were running when packs were condemned never lose a blob they rely on.
/// </summary>
public sealed class PrunerTests : IDisposable
{
    private readonly TempFolder _temp = new("prune");
    private string RepoPath => _temp.Combine("repo");
    private string Source => _temp.Combine("src");

    public void Dispose() => _temp.Dispose();

    private async Task<Strata.Repository.Repository> InitAsync() =>
        await TestRepositories.InitAsync(RepoPath, options: TestRepositories.FastOptions(packSize: 1 << 20));

    private void WriteFile(string name, int length, int seed)
    {
        var path = Path.Combine(Source, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, TestData.RandomBytes(length, seed));
    }

    private static async Task<Snapshot> BackupAsync(string repoPath, string source)
    {
        using var repo = await TestRepositories.OpenAsync(repoPath);
        return (await new Archiver(repo, new BackupOptions { Paths = [source] }).RunAsync()).Snapshot;
    }

    private static async Task<PruneResult> PruneAsync(string repoPath, PruneOptions? options = null)
    {
        using var repo = await TestRepositories.OpenAsync(repoPath);
        return await new Pruner(repo).RunAsync(options ?? new PruneOptions());
    }

    private static async Task ForgetAsync(string repoPath, BlobId snapshot)
    {
        using var repo = await TestRepositories.OpenAsync(repoPath);
        await repo.DeleteSnapshotAsync(snapshot);
    }

    private static long StoredBytes(string repoPath) =>
        Directory.EnumerateFiles(Path.Combine(repoPath, "data"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    private async Task AssertHealthyAndRestorable(Snapshot snapshot, string expectedTree)
    {
        using var repo = await TestRepositories.OpenAsync(RepoPath);
        var check = await new Checker(repo).RunAsync(new CheckOptions { ReadData = true });
        Assert.True(check.Ok, string.Join("\n", check.Errors));
        var target = _temp.Combine("restore-" + snapshot.Id.ToShortString());
        await new Restorer(repo, snapshot, new RestoreOptions { Target = target }).RunAsync();
        TreeComparison.AssertSame(expectedTree, target + expectedTree);
    }

    [Fact]
    public async Task Prune_deletes_what_no_snapshot_references_and_keeps_the_rest_restorable()
    {
        (await InitAsync()).Dispose();
        WriteFile("a.bin", 3_000_000, 1);
        WriteFile("b.bin", 2_000_000, 2);
        var first = await BackupAsync(RepoPath, Source);
        File.Delete(Path.Combine(Source, "a.bin"));
        WriteFile("c.bin", 1_000_000, 3);
        var second = await BackupAsync(RepoPath, Source);
        long before = StoredBytes(RepoPath);

        await ForgetAsync(RepoPath, first.Id);
        var result = await PruneAsync(RepoPath);

        Assert.True(result.PacksDeleted > 0);
        Assert.Equal(0, result.PacksPending);
        long after = StoredBytes(RepoPath);
        Assert.True(before - after >= 2_900_000, $"stored bytes went from {before} to {after}: a.bin's 3 MB should be gone");
        await AssertHealthyAndRestorable(second, Source);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(RepoPath, "gc")));
    }

    [Fact]
    public async Task Dry_run_reports_but_changes_nothing()
    {
        (await InitAsync()).Dispose();
        WriteFile("a.bin", 2_000_000, 1);
        var first = await BackupAsync(RepoPath, Source);
        WriteFile("a.bin", 2_000_000, 9);
        await BackupAsync(RepoPath, Source);
        await ForgetAsync(RepoPath, first.Id);
        var files = Directory.EnumerateFiles(RepoPath, "*", SearchOption.AllDirectories).Order().ToList();

        var result = await PruneAsync(RepoPath, new PruneOptions { DryRun = true });

        Assert.True(result.PacksCondemned > 0);
        Assert.Equal(0, result.PacksDeleted);
        Assert.Equal(files, Directory.EnumerateFiles(RepoPath, "*", SearchOption.AllDirectories).Order().ToList());
    }

    [Fact]
    public async Task Packs_more_unused_than_the_limit_are_repacked_and_the_limit_on_repack_size_holds()
    {
        (await InitAsync()).Dispose();
        // Many small files share packs; forgetting the snapshot with half of them leaves half-used packs.
        for (int i = 0; i < 40; i++) WriteFile($"keep/k{i}.bin", 50_000, i);
        for (int i = 0; i < 40; i++) WriteFile($"drop/d{i}.bin", 50_000, 100 + i);
        var first = await BackupAsync(RepoPath, Source);
        Directory.Delete(Path.Combine(Source, "drop"), recursive: true);
        var second = await BackupAsync(RepoPath, Source);
        await ForgetAsync(RepoPath, first.Id);

        var limited = await PruneAsync(RepoPath, new PruneOptions { MaxRepackSize = 1 });
        Assert.Equal(0, limited.PacksRepacked);

        var full = await PruneAsync(RepoPath, new PruneOptions { MaxUnused = 0.05 });
        Assert.True(full.PacksRepacked > 0);
        Assert.True(full.BlobsRepacked > 0);
        var again = await PruneAsync(RepoPath, new PruneOptions { DryRun = true });
        Assert.Equal(0, again.PacksCondemned);
        Assert.True(again.UnusedBytes < again.BytesTotal * 0.05 + 4096, $"{again.UnusedBytes} of {again.BytesTotal} bytes still unused");
        await AssertHealthyAndRestorable(second, Source);
    }

    [Fact]
    public async Task Condemned_packs_wait_for_backups_that_were_running_and_are_spared_when_their_snapshot_needs_them()
    {
        (await InitAsync()).Dispose();
        WriteFile("shared.bin", 2_000_000, 1);
        var first = await BackupAsync(RepoPath, Source);
        await ForgetAsync(RepoPath, first.Id);

        // A backup that started before the prune: it holds a lease and loaded the index, in which shared.bin's blobs are live.
        using var writerRepo = await TestRepositories.OpenAsync(RepoPath);
        var lease = await Leases.AcquireAsync(writerRepo, Lease.Backup);
        await writerRepo.LoadIndexAsync();

        var pruned = await PruneAsync(RepoPath);
        Assert.Equal(0, pruned.PacksDeleted);
        Assert.True(pruned.PacksPending > 0);
        Assert.NotEmpty(pruned.PendingOn);

        // The running backup relies on the blobs it saw (deduplication), then saves its snapshot and ends.
        var content = (await writerRepo.LoadTreeAsync(first.Tree)).Nodes;
        var snapshot = new Snapshot { Time = DateTimeOffset.Now, Tree = first.Tree, Paths = first.Paths, Hostname = "late" };
        lease.EnsureValid();
        await writerRepo.SaveSnapshotAsync(snapshot);
        await lease.DisposeAsync();

        var swept = await PruneAsync(RepoPath);
        Assert.True(swept.PacksSpared > 0);
        await AssertHealthyAndRestorable(snapshot, Source);
        Assert.NotEmpty(content);
    }

    [Fact]
    public async Task New_backups_store_again_what_lies_in_condemned_packs()
    {
        (await InitAsync()).Dispose();
        WriteFile("data.bin", 2_000_000, 1);
        var first = await BackupAsync(RepoPath, Source);
        await ForgetAsync(RepoPath, first.Id);
        using (var holder = await TestRepositories.OpenAsync(RepoPath))
        {
            await using var lease = await Leases.AcquireAsync(holder, Lease.Backup);
            var pruned = await PruneAsync(RepoPath); // condemns everything, cannot delete while the lease lives
            Assert.True(pruned.PacksPending > 0);

            var second = await BackupAsync(RepoPath, Source); // same content, but it must not rely on condemned packs
            Assert.True(second.Summary!.DataAdded >= 2_000_000, $"the backup added {second.Summary.DataAdded} bytes");
        }
        var final = await PruneAsync(RepoPath);
        Assert.True(final.PacksDeleted > 0);
        using var repo = await TestRepositories.OpenAsync(RepoPath);
        var latest = await repo.FindSnapshotAsync("latest");
        await AssertHealthyAndRestorable(latest, Source);
    }

    [Fact]
    public async Task A_second_prune_refuses_while_one_runs_but_a_dead_ones_lease_does_not_block()
    {
        using var repo = await InitAsync();
        await using (var running = await Leases.AcquireAsync(repo, Lease.Prune))
        {
            var e = await Assert.ThrowsAsync<RepositoryLockedException>(() => PruneAsync(RepoPath));
            Assert.Contains("another prune or repair is running", e.Message);
            Assert.Equal(ExitCodes.RepositoryLocked, e.ExitCode);
        }

        await LeaseFiles.WriteAsync(repo, new Lease { Kind = Lease.Prune, Hostname = Environment.MachineName, Pid = int.MaxValue - 1, Created = DateTimeOffset.UtcNow, Refreshed = DateTimeOffset.UtcNow });
        var result = await PruneAsync(RepoPath);
        Assert.Equal(0, result.PacksDeleted);
    }

    [Fact]
    public async Task A_reader_whose_index_predates_a_prune_still_finds_repacked_blobs()
    {
        (await InitAsync()).Dispose();
        for (int i = 0; i < 30; i++) WriteFile($"keep/k{i}.bin", 50_000, i);
        for (int i = 0; i < 30; i++) WriteFile($"drop/d{i}.bin", 50_000, 100 + i);
        var first = await BackupAsync(RepoPath, Source);
        Directory.Delete(Path.Combine(Source, "drop"), recursive: true);
        var second = await BackupAsync(RepoPath, Source);
        using var reader = await TestRepositories.ReopenWithIndexAsync(RepoPath);

        await ForgetAsync(RepoPath, first.Id);
        var pruned = await PruneAsync(RepoPath, new PruneOptions { MaxUnused = 0 });
        Assert.True(pruned.PacksRepacked > 0 && pruned.PacksDeleted > 0);

        var target = _temp.Combine("late-restore");
        await new Restorer(reader, second, new RestoreOptions { Target = target }).RunAsync();
        TreeComparison.AssertSame(Source, target + Source);
    }
}
