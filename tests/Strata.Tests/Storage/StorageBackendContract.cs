using System.Text;
using Strata.Errors;
using Strata.Storage;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Storage;

/// <summary>
/// What every <see cref="IStorageBackend"/> must do (the contract in its doc comment). A backend's
/// test class derives from this and supplies <see cref="CreateBackend"/>: a backend over a fresh,
/// empty namespace (a new directory, a new bucket prefix) that the derived class cleans up.
/// </summary>
public abstract class StorageBackendContract : IDisposable
{
    private IStorageBackend? _backend;

    /// <summary>A backend that holds no objects yet. Called at most once per test.</summary>
    protected abstract IStorageBackend CreateBackend();

    private readonly object _create = new();

    /// <summary>Created on first use, once even when a test's parallel tasks all ask at once (each call of CreateBackend may name a fresh namespace).</summary>
    protected IStorageBackend Backend
    {
        get
        {
            lock (_create) return _backend ??= CreateBackend();
        }
    }

    public virtual void Dispose()
    {
        _backend?.Dispose();
        GC.SuppressFinalize(this);
    }

    private async Task<List<StoredObject>> ListAsync(string prefix)
    {
        var list = new List<StoredObject>();
        await foreach (var o in Backend.ListAsync(prefix)) list.Add(o);
        return list.OrderBy(o => o.Name, StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task An_object_reads_back_whole_as_it_was_put()
    {
        var content = TestData.RandomBytes(100_000);

        await Backend.PutAsync("data/ab/abcdef", content);

        Assert.Equal(content, await Backend.GetAsync("data/ab/abcdef"));
    }

    [Fact]
    public async Task An_empty_object_can_be_put_and_read()
    {
        await Backend.PutAsync("locks/empty", ReadOnlyMemory<byte>.Empty);

        Assert.True(await Backend.ExistsAsync("locks/empty"));
        Assert.Empty(await Backend.GetAsync("locks/empty"));
    }

    [Fact]
    public async Task A_top_level_object_can_be_put_and_read()
    {
        await Backend.PutAsync("config", "cfg"u8.ToArray());

        Assert.Equal("cfg"u8.ToArray(), await Backend.GetAsync("config"));
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(123, 456)]
    [InlineData(99_990, 10)]
    [InlineData(50_000, 0)]
    [InlineData(100_000, 0)]
    public async Task A_range_reads_exactly_those_bytes(int offset, int length)
    {
        var content = TestData.RandomBytes(100_000);
        await Backend.PutAsync("data/00/range", content);

        var range = await Backend.GetAsync("data/00/range", offset, length);

        Assert.Equal(content.AsSpan(offset, length).ToArray(), range);
    }

    [Fact]
    public async Task An_offset_without_a_length_reads_to_the_end()
    {
        var content = TestData.RandomBytes(1000);
        await Backend.PutAsync("data/00/tail", content);

        Assert.Equal(content[900..], await Backend.GetAsync("data/00/tail", 900));
    }

    [Theory]
    [InlineData(990, 11)]
    [InlineData(1000, 1)]
    [InlineData(5000, 10)]
    [InlineData(-1, 10)]
    public async Task A_range_outside_the_object_is_an_error(long offset, int length)
    {
        await Backend.PutAsync("data/00/short", new byte[1000]);

        await Assert.ThrowsAnyAsync<StrataException>(() => Backend.GetAsync("data/00/short", offset, length));
    }

    [Fact]
    public async Task Getting_a_missing_object_throws_object_not_found_naming_it()
    {
        var e = await Assert.ThrowsAsync<ObjectNotFoundException>(() => Backend.GetAsync("snapshots/missing"));

        Assert.Contains("snapshots/missing", e.Message);
    }

    [Fact]
    public async Task Getting_a_range_of_a_missing_object_throws_object_not_found()
    {
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Backend.GetAsync("data/ff/missing", 10, 10));
    }

    [Fact]
    public async Task Exists_is_true_only_for_objects_that_were_put()
    {
        Assert.False(await Backend.ExistsAsync("index/one"));

        await Backend.PutAsync("index/one", new byte[] { 1 });

        Assert.True(await Backend.ExistsAsync("index/one"));
        Assert.False(await Backend.ExistsAsync("index/two"));
        Assert.False(await Backend.ExistsAsync("index"));
    }

    [Fact]
    public async Task Deleting_an_object_removes_it()
    {
        await Backend.PutAsync("locks/a", new byte[] { 1, 2, 3 });

        await Backend.DeleteAsync("locks/a");

        Assert.False(await Backend.ExistsAsync("locks/a"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Backend.GetAsync("locks/a"));
        Assert.Empty(await ListAsync("locks/"));
    }

    [Fact]
    public async Task Deleting_a_missing_object_succeeds()
    {
        await Backend.DeleteAsync("locks/never-existed");
        await Backend.DeleteAsync("no-such-folder/never-existed");

        await Backend.PutAsync("locks/once", new byte[1]);
        await Backend.DeleteAsync("locks/once");
        await Backend.DeleteAsync("locks/once");
    }

    [Fact]
    public async Task A_put_to_an_existing_name_replaces_the_object()
    {
        await Backend.PutAsync("keys/k", Encoding.UTF8.GetBytes("a much longer first version"));

        await Backend.PutAsync("keys/k", Encoding.UTF8.GetBytes("second"));

        Assert.Equal("second", Encoding.UTF8.GetString(await Backend.GetAsync("keys/k")));
        Assert.Equal(6, Assert.Single(await ListAsync("keys/")).Size);
    }

    [Fact]
    public async Task Listing_a_folder_returns_every_object_under_it_with_its_size_and_nothing_else()
    {
        await Backend.PutAsync("data/aa/aa01", new byte[10]);
        await Backend.PutAsync("data/aa/aa02", new byte[20]);
        await Backend.PutAsync("data/bb/bb01", new byte[30]);
        await Backend.PutAsync("index/i1", new byte[40]);
        await Backend.PutAsync("config", new byte[50]);

        var data = await ListAsync("data/");

        Assert.Equal(
            [new StoredObject("data/aa/aa01", 10), new StoredObject("data/aa/aa02", 20), new StoredObject("data/bb/bb01", 30)],
            data);
        Assert.Equal([new StoredObject("index/i1", 40)], await ListAsync("index/"));
    }

    [Fact]
    public async Task Listing_an_empty_or_missing_folder_returns_nothing()
    {
        await Backend.PutAsync("index/i1", new byte[1]);

        Assert.Empty(await ListAsync("snapshots/"));
        Assert.Empty(await ListAsync("data/"));
    }

    [Fact]
    public async Task Listing_everything_shows_exactly_the_objects_put_and_nothing_temporary()
    {
        await Backend.PutAsync("config", new byte[5]);
        await Backend.PutAsync("keys/k1", new byte[6]);
        await Backend.PutAsync("data/01/0123", TestData.RandomBytes(70_000));
        await Backend.PutAsync("keys/k1", new byte[7]);

        var all = await ListAsync("");

        Assert.Equal(
            [new StoredObject("config", 5), new StoredObject("data/01/0123", 70_000), new StoredObject("keys/k1", 7)],
            all);
    }

    [Fact]
    public async Task Concurrent_puts_of_different_objects_all_land()
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, 32), async (i, ct) =>
            await Backend.PutAsync($"data/{i % 4:x2}/obj{i:D3}", TestData.RandomBytes(1000 + i, seed: i), ct));

        var all = await ListAsync("data/");
        Assert.Equal(32, all.Count);
        for (int i = 0; i < 32; i++)
            Assert.Equal(TestData.RandomBytes(1000 + i, seed: i), await Backend.GetAsync($"data/{i % 4:x2}/obj{i:D3}"));
    }

    [Fact]
    public async Task Concurrent_puts_of_the_same_name_leave_one_whole_object()
    {
        var versions = Enumerable.Range(0, 8).Select(i => TestData.RandomBytes(50_000, seed: i)).ToArray();

        await Parallel.ForEachAsync(versions, async (v, ct) => await Backend.PutAsync("index/same", v, ct));

        var stored = await Backend.GetAsync("index/same");
        Assert.Contains(versions, v => v.AsSpan().SequenceEqual(stored));
    }

    [Fact]
    public void The_location_describes_the_backend()
    {
        Assert.False(string.IsNullOrWhiteSpace(Backend.Location));
    }
}
