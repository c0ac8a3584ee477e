using Strata.Mount;
using Strata.Repository;

namespace Strata.Tests.Mount;

public sealed class LruCacheTests
{
    private static BlobId Id(int n)
    {
        var bytes = new byte[BlobId.Size];
        BitConverter.TryWriteBytes(bytes, n);
        return new BlobId(bytes);
    }

    [Fact]
    public void Keeps_no_more_than_its_budget_evicting_the_least_recently_used()
    {
        int loads = 0;
        var cache = new LruCache<byte[]>(budget: 3000, id => { Interlocked.Increment(ref loads); return (new byte[1000], 1000); });

        cache.Get(Id(1));
        cache.Get(Id(2));
        cache.Get(Id(3));
        cache.Get(Id(1)); // 1 is now the most recent, 2 the least
        cache.Get(Id(4)); // evicts 2

        Assert.Equal(3000, cache.Bytes);
        Assert.Equal(4, loads);
        cache.Get(Id(1));
        cache.Get(Id(3));
        Assert.Equal(4, loads);
        cache.Get(Id(2));
        Assert.Equal(5, loads);
        Assert.True(cache.Bytes <= 3000);
    }

    [Fact]
    public void A_value_larger_than_the_budget_is_returned_but_not_kept()
    {
        var cache = new LruCache<byte[]>(budget: 100, id => (new byte[500], 500));
        Assert.Equal(500, cache.Get(Id(1)).Length);
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public async Task Concurrent_readers_of_one_missing_value_share_one_load()
    {
        int loads = 0;
        using var gate = new ManualResetEventSlim();
        var cache = new LruCache<byte[]>(budget: 1 << 20, id => { Interlocked.Increment(ref loads); gate.Wait(); return (new byte[10], 10); });

        var readers = Enumerable.Range(0, 8).Select(_ => Task.Run(() => cache.Get(Id(7)))).ToArray();
        await Task.Delay(200);
        gate.Set();
        var results = await Task.WhenAll(readers);

        Assert.Equal(1, loads);
        Assert.All(results, r => Assert.Same(results[0], r));
    }

    [Fact]
    public void A_failed_load_is_not_remembered()
    {
        int calls = 0;
        var cache = new LruCache<byte[]>(budget: 1000, id => ++calls == 1 ? throw new IOException("disk") : (new byte[1], 1));
        Assert.Throws<IOException>(() => cache.Get(Id(1)));
        Assert.Single(cache.Get(Id(1)));
    }
}
