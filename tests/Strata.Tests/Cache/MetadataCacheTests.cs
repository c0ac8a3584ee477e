using System.Security.Cryptography;
using Strata.Cache;
using Strata.Repository;
using Strata.Storage;
using Strata.Tests.Storage;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cache;

/// <summary>The cache passes the storage contract (it is a backend to its users), and keeps only verified metadata.</summary>
public sealed class MetadataCacheTests : StorageBackendContract
{
    private readonly TempFolder _folder = new("cache");
    private CountingBackend? _counting;

    private string CacheDirectory => _folder.Combine("cache");

    protected override IStorageBackend CreateBackend()
    {
        _counting = new CountingBackend(new LocalDirectoryBackend(_folder.Combine("repo")));
        return new MetadataCache(_counting, CacheDirectory);
    }

    /// <summary>The repository under the cache (created with the cache on first use).</summary>
    private CountingBackend Inner
    {
        get
        {
            _ = Backend;
            return _counting!;
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _folder.Dispose();
    }

    /// <summary>A stored object named by the SHA-256 of its bytes, as index files and snapshots are.</summary>
    private static (string Name, byte[] Bytes) ContentAddressed(string folder, int seed)
    {
        var bytes = TestData.RandomBytes(5000, seed);
        return (folder + Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes);
    }

    [Fact]
    public async Task A_second_read_of_an_index_file_or_snapshot_comes_from_the_cache()
    {
        var (index, indexBytes) = ContentAddressed(Layout.IndexFolder, 1);
        var (snapshot, snapshotBytes) = ContentAddressed(Layout.SnapshotsFolder, 2);
        await Inner.Inner.PutAsync(index, indexBytes);
        await Inner.Inner.PutAsync(snapshot, snapshotBytes);

        Assert.Equal(indexBytes, await Backend.GetAsync(index));
        Assert.Equal(snapshotBytes, await Backend.GetAsync(snapshot));
        Assert.Equal(indexBytes, await Backend.GetAsync(index));
        Assert.Equal(snapshotBytes, await Backend.GetAsync(snapshot));

        Assert.Equal(2, Inner.Gets);
        Assert.Equal(2, ((MetadataCache)Backend).Hits);
    }

    [Fact]
    public async Task What_this_process_writes_is_cached_on_the_way()
    {
        var (index, bytes) = ContentAddressed(Layout.IndexFolder, 3);

        await Backend.PutAsync(index, bytes);

        Assert.Equal(bytes, await Backend.GetAsync(index));
        Assert.Equal(0, Inner.Gets);
    }

    [Fact]
    public async Task A_damaged_cache_file_is_never_returned_and_is_replaced()
    {
        var (index, bytes) = ContentAddressed(Layout.IndexFolder, 4);
        await Backend.PutAsync(index, bytes);
        var cached = Path.Combine(CacheDirectory, index);
        var damaged = (byte[])bytes.Clone();
        damaged[100] ^= 1;
        await File.WriteAllBytesAsync(cached, damaged);

        Assert.Equal(bytes, await Backend.GetAsync(index));

        Assert.Equal(1, Inner.Gets);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(cached));
    }

    [Fact]
    public async Task A_damaged_object_in_the_repository_is_passed_on_but_not_cached()
    {
        var (index, bytes) = ContentAddressed(Layout.IndexFolder, 5);
        var damaged = (byte[])bytes.Clone();
        damaged[0] ^= 1;
        await Inner.Inner.PutAsync(index, damaged);

        Assert.Equal(damaged, await Backend.GetAsync(index)); // the repository reports it as damaged

        Assert.False(File.Exists(Path.Combine(CacheDirectory, index)));
    }

    [Fact]
    public async Task Objects_gone_from_the_repository_leave_the_cache_at_the_next_listing()
    {
        var (kept, keptBytes) = ContentAddressed(Layout.SnapshotsFolder, 6);
        var (gone, goneBytes) = ContentAddressed(Layout.SnapshotsFolder, 7);
        await Backend.PutAsync(kept, keptBytes);
        await Backend.PutAsync(gone, goneBytes);
        await Inner.Inner.DeleteAsync(gone); // another machine forgot it

        var listed = new List<string>();
        await foreach (var o in Backend.ListAsync(Layout.SnapshotsFolder)) listed.Add(o.Name);

        Assert.Equal([kept], listed);
        Assert.True(File.Exists(Path.Combine(CacheDirectory, kept)));
        Assert.False(File.Exists(Path.Combine(CacheDirectory, gone)));
    }

    [Fact]
    public async Task Packs_ranges_and_other_objects_are_never_cached()
    {
        var (pack, bytes) = ContentAddressed("data/ab/", 8);
        await Backend.PutAsync(pack, bytes);
        await Backend.PutAsync("config", bytes);
        var (index, indexBytes) = ContentAddressed(Layout.IndexFolder, 9);
        await Inner.Inner.PutAsync(index, indexBytes);

        await Backend.GetAsync(pack);
        await Backend.GetAsync("config");
        await Backend.GetAsync(index, 10, 20);

        Assert.False(Directory.Exists(Path.Combine(CacheDirectory, "data")));
        Assert.False(File.Exists(Path.Combine(CacheDirectory, "config")));
        Assert.False(File.Exists(Path.Combine(CacheDirectory, index)));
    }

    [Fact]
    public void Each_repository_location_has_its_own_cache_folder_under_strata_cache_dir()
    {
        Environment.SetEnvironmentVariable("STRATA_CACHE_DIR", _folder.Path);
        try
        {
            var a = MetadataCache.DefaultDirectoryFor("s3:http://host/bucket/a");
            var b = MetadataCache.DefaultDirectoryFor("s3:http://host/bucket/b");
            Assert.NotEqual(a, b);
            Assert.Equal(_folder.Path, Path.GetDirectoryName(a));
        }
        finally
        {
            Environment.SetEnvironmentVariable("STRATA_CACHE_DIR", null);
        }
    }
}
