using Strata.Backup;
using Strata.Errors;
using Strata.Replication;
using Strata.Repository;
using Strata.Snapshots;
using Strata.Tests.TestSupport;
using StrataRepository = Strata.Repository.Repository;

namespace Strata.Tests.Replication;

public sealed class SnapshotCopierTests : IDisposable
{
    private const string TargetPassword = "another password for the target";
    private readonly TempFolder _folder = new("copy");
    private readonly TreeBuilder _tree;

    public SnapshotCopierTests()
    {
        _tree = new TreeBuilder(_folder.Combine("src"));
        _tree.RandomFile("big.bin", 3_000_000, seed: 1).TextFile("log.txt", 1_000_000, seed: 2);
        for (int i = 0; i < 30; i++) _tree.RandomFile($"dir{i % 3}/f{i}.bin", 1000 + 333 * i, seed: 10 + i);
        _tree.Symlink("dir0/link", "f0.bin");
    }

    public void Dispose() => _folder.Dispose();

    private string SourcePath => _folder.Combine("a");
    private string TargetPath => _folder.Combine("b");

    private static async Task<Snapshot> BackupAsync(StrataRepository repo, string path, string host = "alpha", params string[] tags)
    {
        await repo.LoadIndexAsync();
        var result = await new Archiver(repo, new BackupOptions { Paths = [path], Host = host, Tags = tags }).RunAsync();
        return result.Snapshot;
    }

    /// <summary>Every file of every snapshot in <paramref name="repo"/>, by path, as the concatenation of its blobs.</summary>
    private static async Task<Dictionary<string, byte[]>> ContentsAsync(StrataRepository repo, Snapshot snapshot)
    {
        await repo.LoadIndexAsync();
        var files = new Dictionary<string, byte[]>();
        async Task Walk(BlobId treeId, string path)
        {
            foreach (var node in (await repo.LoadTreeAsync(treeId)).Nodes)
            {
                var child = path + "/" + node.Name;
                if (node.IsDirectory) await Walk(node.Subtree!.Value, child);
                else if (node.IsFile)
                {
                    var content = new MemoryStream();
                    foreach (var blob in node.Content ?? []) content.Write(await repo.ReadBlobAsync(blob));
                    files[child] = content.ToArray();
                }
                else files[child] = System.Text.Encoding.UTF8.GetBytes(node.Type + ":" + node.LinkTarget);
            }
        }
        await Walk(snapshot.Tree, "");
        return files;
    }

    [Fact]
    public async Task A_copy_has_the_same_files_under_the_targets_own_keys_and_chunker()
    {
        using var source = await TestRepositories.InitAsync(SourcePath);
        using var target = await TestRepositories.InitAsync(TargetPath, TargetPassword, TestRepositories.FastOptions(packSize: 1 << 20));
        var original = await BackupAsync(source, _tree.Root, tags: "daily");

        var copier = new SnapshotCopier(source, target);
        var result = await copier.CopyAsync(new CopyOptions());

        Assert.True(result.Rechunked);
        var (sourceId, targetId) = Assert.Single(result.Copied);
        Assert.Equal(original.Id, sourceId);
        using var reopened = await TestRepositories.OpenAsync(TargetPath, TargetPassword);
        var copy = await reopened.LoadSnapshotAsync(targetId);
        Assert.Equal(original.Id, copy.Original);
        Assert.Equal((original.Time, original.Hostname), (copy.Time, copy.Hostname));
        Assert.Equal(original.Paths, copy.Paths);
        Assert.Equal(original.Tags, copy.Tags);
        Assert.Null(copy.Parent);
        Assert.Equal(await ContentsAsync(source, original), await ContentsAsync(reopened, copy));
        Assert.NotEqual(original.Tree, copy.Tree); // ids are keyed per repository
        await Assert.ThrowsAsync<WrongPasswordException>(() => TestRepositories.OpenAsync(TargetPath));
    }

    [Fact]
    public async Task Copying_again_sends_nothing_and_copies_only_new_snapshots()
    {
        using var source = await TestRepositories.InitAsync(SourcePath);
        using var target = await TestRepositories.InitAsync(TargetPath, TargetPassword);
        await BackupAsync(source, _tree.Root);
        await new SnapshotCopier(source, target).CopyAsync(new CopyOptions());

        var again = await new SnapshotCopier(source, target).CopyAsync(new CopyOptions());
        Assert.Empty(again.Copied);
        Assert.Single(again.AlreadyPresent);
        Assert.Equal(0, again.BytesAdded);

        _tree.File("dir1/new.txt", "a new file");
        var second = await BackupAsync(source, _tree.Root);
        var third = await new SnapshotCopier(source, target).CopyAsync(new CopyOptions());
        Assert.Equal(second.Id, Assert.Single(third.Copied).Source);
        Assert.InRange(third.BytesAdded, 1, 100_000); // the new file and the trees above it
    }

    [Fact]
    public async Task Blobs_the_target_already_has_from_its_own_backups_are_not_sent()
    {
        using var source = await TestRepositories.InitAsync(SourcePath);
        using var target = await TestRepositories.InitAsync(TargetPath, TargetPassword);
        await BackupAsync(source, _tree.Root);
        await BackupAsync(target, _tree.Root, host: "beta");
        long before = target.Index.BlobCount;

        var result = await new SnapshotCopier(source, target).CopyAsync(new CopyOptions());

        Assert.Single(result.Copied);
        Assert.True(result.BytesAdded < 50_000, $"{result.BytesAdded} bytes were sent for data the target had");
        Assert.True(result.BytesRead > 4_000_000);
        Assert.True(target.Index.BlobCount - before < 10);
    }

    [Fact]
    public async Task With_the_same_chunker_each_blob_maps_to_one_blob()
    {
        using var source = await TestRepositories.InitAsync(SourcePath);
        using var target = await TestRepositories.InitAsync(TargetPath, TargetPassword,
            TestRepositories.FastOptions() with { Chunker = source.Config.Chunker.Parameters, GearSeed = source.Config.Chunker.GearSeed });
        var original = await BackupAsync(source, _tree.Root);

        var copier = new SnapshotCopier(source, target);
        var result = await copier.CopyAsync(new CopyOptions());

        Assert.False(result.Rechunked);
        await target.LoadIndexAsync();
        Assert.Equal(source.Index.BlobCount, target.Index.BlobCount);
        var copy = await target.LoadSnapshotAsync(result.Copied[0].Target);
        Assert.Equal(await ContentsAsync(source, original), await ContentsAsync(target, copy));
    }

    [Fact]
    public async Task Snapshots_are_chosen_by_id_host_tag_or_latest_per_host()
    {
        using var source = await TestRepositories.InitAsync(SourcePath);
        using var target = await TestRepositories.InitAsync(TargetPath, TargetPassword);
        var a1 = await BackupAsync(source, _tree.Root, "alpha", "daily");
        var b1 = await BackupAsync(source, _tree.Root, "beta");
        _tree.File("x.txt", "x");
        var a2 = await BackupAsync(source, _tree.Root, "alpha");
        var copier = new SnapshotCopier(source, target);

        Assert.Equal([a1.Id, a2.Id], (await copier.SelectAsync(new CopyOptions { Filter = new SnapshotFilter(Host: "alpha") })).Select(s => s.Id));
        Assert.Equal([a1.Id], (await copier.SelectAsync(new CopyOptions { Filter = new SnapshotFilter(Tags: ["daily"]) })).Select(s => s.Id));
        Assert.Equal([b1.Id, a2.Id], (await copier.SelectAsync(new CopyOptions { LatestPerHostOnly = true })).Select(s => s.Id));
        Assert.Equal([b1.Id], (await copier.SelectAsync(new CopyOptions { Snapshots = [b1.Id.ToString()[..8]] })).Select(s => s.Id));
    }

    [Fact]
    public async Task A_copy_of_a_copy_remembers_the_first_original()
    {
        using var source = await TestRepositories.InitAsync(SourcePath);
        using var middle = await TestRepositories.InitAsync(TargetPath, TargetPassword);
        using var last = await TestRepositories.InitAsync(_folder.Combine("c"));
        var original = await BackupAsync(source, _tree.Root);
        await new SnapshotCopier(source, middle).CopyAsync(new CopyOptions());

        var result = await new SnapshotCopier(middle, last).CopyAsync(new CopyOptions());
        var copy = await last.LoadSnapshotAsync(Assert.Single(result.Copied).Target);

        Assert.Equal(original.Id, copy.Original);
        Assert.Empty((await new SnapshotCopier(source, last).CopyAsync(new CopyOptions())).Copied);
    }

    [Fact]
    public async Task A_copy_interrupted_midway_leaves_a_sound_target_and_the_next_one_sends_nothing_twice()
    {
        _tree.RandomFile("more.bin", 8_000_000, seed: 5);
        using var source = await TestRepositories.InitAsync(SourcePath);
        using var target = await TestRepositories.InitAsync(TargetPath, TargetPassword, TestRepositories.FastOptions(packSize: 1 << 20));
        await BackupAsync(source, _tree.Root);
        using var cts = new CancellationTokenSource();
        var copier = new SnapshotCopier(source, target);
        var watcher = Task.Run(async () =>
        {
            while (copier.Progress.BytesAdded < 4_000_000 && !cts.IsCancellationRequested) await Task.Delay(5);
            cts.Cancel();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copier.CopyAsync(new CopyOptions(), cts.Token));
        await watcher;
        using var afterStop = await TestRepositories.ReopenWithIndexAsync(TargetPath, TargetPassword);
        Assert.Empty(await afterStop.ListSnapshotsAsync());
        long sentBefore = afterStop.Index.BlobCount;
        Assert.True(sentBefore > 10, $"only {sentBefore} blobs were indexed before the stop");

        var resumed = await new SnapshotCopier(source, afterStop).CopyAsync(new CopyOptions());

        Assert.Single(resumed.Copied);
        using var final = await TestRepositories.ReopenWithIndexAsync(TargetPath, TargetPassword);
        var indexEntries = 0;
        await foreach (var o in final.Backend.ListAsync(Layout.IndexFolder))
            indexEntries += (await final.LoadIndexFileAsync(o.Name)).Packs.Sum(p => p.Entries.Count);
        Assert.Equal(final.Index.BlobCount, indexEntries); // no blob was stored (and indexed) twice
        var check = await new Strata.Check.Checker(final).RunAsync(new Strata.Check.CheckOptions { ReadData = true });
        Assert.True(check.Ok, string.Join("; ", check.Errors));
    }

    [Fact]
    public async Task Copying_a_repository_into_itself_is_refused()
    {
        using var source = await TestRepositories.InitAsync(SourcePath);
        using var same = await TestRepositories.OpenAsync(SourcePath);

        Assert.Throws<UsageException>(() => new SnapshotCopier(source, same));
    }
}
