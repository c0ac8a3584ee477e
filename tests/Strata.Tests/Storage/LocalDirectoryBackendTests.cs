using Strata.Errors;
using Strata.Storage;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Storage;

/// <summary>The storage contract, plus what is particular to a local directory.</summary>
public sealed class LocalDirectoryBackendTests : StorageBackendContract
{
    private readonly TempFolder _folder = new("storage");

    protected override IStorageBackend CreateBackend() => new LocalDirectoryBackend(_folder.Path);

    public override void Dispose()
    {
        base.Dispose();
        _folder.Dispose();
    }

    private string TmpFolder => _folder.Combine("tmp");

    [Fact]
    public void Staging_removes_leftovers_of_killed_writers_but_not_files_in_use()
    {
        Directory.CreateDirectory(TmpFolder);
        var stale = Path.Combine(TmpFolder, "pack-killed.tmp");
        var live = Path.Combine(TmpFolder, "pack-live.tmp");
        File.WriteAllText(stale, "left by a writer killed yesterday");
        File.WriteAllText(live, "being written right now");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow - LocalDirectoryBackend.StaleTemporaryAge - TimeSpan.FromMinutes(5));
        using var backend = new LocalDirectoryBackend(_folder.Path);

        Assert.Equal(TmpFolder, backend.StagingDirectory);

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));
    }

    [Fact]
    public void The_location_is_the_full_path_of_the_directory()
    {
        Assert.Equal(_folder.Path, Backend.Location);
        Assert.Equal(_folder.Path, new LocalDirectoryBackend(Path.GetRelativePath(Environment.CurrentDirectory, _folder.Path)).Location);
    }

    [Fact]
    public async Task Objects_are_plain_files_at_their_names()
    {
        await Backend.PutAsync("data/ab/abcd", new byte[] { 1, 2, 3 });

        Assert.Equal(new byte[] { 1, 2, 3 }, await File.ReadAllBytesAsync(_folder.Combine("data", "ab", "abcd")));
    }

    [Fact]
    public async Task A_put_leaves_no_file_in_tmp_afterwards()
    {
        await Backend.PutAsync("data/ab/abcd", TestData.RandomBytes(200_000));
        await Backend.PutAsync("data/ab/abcd", TestData.RandomBytes(1000));
        await Backend.PutAsync("config", new byte[1]);

        Assert.True(Directory.Exists(TmpFolder));
        Assert.Empty(Directory.EnumerateFileSystemEntries(TmpFolder));
    }

    [Fact]
    public async Task Stray_files_in_tmp_are_not_objects_of_any_repository_folder()
    {
        Directory.CreateDirectory(TmpFolder);
        await File.WriteAllBytesAsync(Path.Combine(TmpFolder, "abcd.123.tmp"), new byte[10]);

        Assert.False(await Backend.ExistsAsync("data/ab/abcd"));
        await foreach (var _ in Backend.ListAsync("data/")) Assert.Fail("a temporary file was listed");
    }

    [Fact]
    public async Task A_range_outside_the_object_is_reported_as_corrupt_data_naming_the_object()
    {
        await Backend.PutAsync("data/00/short", new byte[100]);

        var e = await Assert.ThrowsAsync<CorruptDataException>(() => Backend.GetAsync("data/00/short", 90, 20));

        Assert.Contains("data/00/short", e.Message);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("data/../../escape")]
    [InlineData("/etc/passwd")]
    public async Task Names_that_would_leave_the_directory_are_refused(string name)
    {
        await Assert.ThrowsAsync<CorruptDataException>(() => Backend.PutAsync(name, new byte[1]));
        await Assert.ThrowsAsync<CorruptDataException>(() => Backend.GetAsync(name));
        await Assert.ThrowsAsync<CorruptDataException>(() => Backend.ExistsAsync(name));
        await Assert.ThrowsAsync<CorruptDataException>(() => Backend.DeleteAsync(name));
    }

    [Fact]
    public void Create_root_makes_a_missing_directory()
    {
        var root = _folder.Combine("new", "repo");

        new LocalDirectoryBackend(root).CreateRoot();

        Assert.True(Directory.Exists(root));
    }

    [Fact]
    public void Create_root_accepts_an_existing_empty_directory()
    {
        new LocalDirectoryBackend(_folder.Path).CreateRoot();
    }

    [Fact]
    public async Task Create_root_refuses_a_non_empty_directory()
    {
        await File.WriteAllTextAsync(_folder.Combine("something"), "x");

        var e = Assert.Throws<UsageException>(() => new LocalDirectoryBackend(_folder.Path).CreateRoot());
        Assert.Contains("not empty", e.Message);
    }

    [Fact]
    public async Task Create_root_refuses_a_file()
    {
        var file = _folder.Combine("file");
        await File.WriteAllTextAsync(file, "x");

        Assert.Throws<UsageException>(() => new LocalDirectoryBackend(file).CreateRoot());
    }

    [Fact]
    public async Task A_put_that_runs_out_of_space_says_so_and_leaves_no_partial_object()
    {
        using var disk = TinyFileSystem.TryMount("1m");
        if (disk is null) return; // mounting needs root; nothing to test without a small file system
        using var backend = new LocalDirectoryBackend(disk.Path);

        var e = await Assert.ThrowsAsync<StorageException>(() => backend.PutAsync("data/ab/abcd", TestData.RandomBytes(2 << 20)));

        Assert.True(e.Message.Contains("no space left"), e.Message);
        Assert.Contains("data/ab/abcd", e.Message);
        Assert.False(await backend.ExistsAsync("data/ab/abcd"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(disk.Path, "tmp")));
        await foreach (var o in backend.ListAsync("")) Assert.Fail($"{o.Name} was left behind");
    }

    [Fact]
    public async Task A_put_that_runs_out_of_space_keeps_the_previous_version_and_the_next_put_that_fits_succeeds()
    {
        using var disk = TinyFileSystem.TryMount("1m");
        if (disk is null) return; // mounting needs root; nothing to test without a small file system
        using var backend = new LocalDirectoryBackend(disk.Path);
        var old = TestData.RandomBytes(100_000, seed: 1);
        await backend.PutAsync("index/i", old);
        // Fill most of the remaining space so the next put cannot fit, whatever tmpfs rounds to.
        await backend.PutAsync("data/filler", TestData.RandomBytes(700_000, seed: 2));

        await Assert.ThrowsAsync<StorageException>(() => backend.PutAsync("index/i", TestData.RandomBytes(400_000, seed: 3)));

        Assert.Equal(old, await backend.GetAsync("index/i"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(disk.Path, "tmp")));
        await backend.DeleteAsync("data/filler");
        var fresh = TestData.RandomBytes(400_000, seed: 4);
        await backend.PutAsync("index/i", fresh);
        Assert.Equal(fresh, await backend.GetAsync("index/i"));
    }

    [Fact]
    public async Task Listing_while_another_process_deletes_never_fails()
    {
        // forget and prune delete while others list: a name deleted mid-listing is simply not listed.
        Directory.CreateDirectory(_folder.Combine("snapshots"));
        for (var i = 0; i < 3000; i++) File.WriteAllBytes(_folder.Combine("snapshots", $"{i:x8}"), [1]); // no fsync: this is about listing
        var deleter = Task.Run(async () =>
        {
            using var other = new LocalDirectoryBackend(_folder.Path);
            for (var i = 0; i < 3000; i++) await other.DeleteAsync($"snapshots/{i:x8}");
        });
        var listings = 0;
        while (!deleter.IsCompleted)
        {
            await foreach (var o in Backend.ListAsync("snapshots/")) Assert.Equal(1, o.Size);
            listings++;
        }
        await deleter;
        Assert.True(listings > 0);
        await foreach (var _ in Backend.ListAsync("snapshots/")) Assert.Fail("everything was deleted");
    }
}
