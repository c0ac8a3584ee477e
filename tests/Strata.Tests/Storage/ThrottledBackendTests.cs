using System.Diagnostics;
using Strata.Storage;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Storage;

/// <summary>The bandwidth limits pass the storage contract and hold transfers to their rate.</summary>
public sealed class ThrottledBackendTests : StorageBackendContract
{
    private readonly TempFolder _folder = new("throttled");

    protected override IStorageBackend CreateBackend() =>
        new ThrottledBackend(new LocalDirectoryBackend(_folder.Path), new BandwidthLimiter(50 << 20), new BandwidthLimiter(50 << 20));

    public override void Dispose()
    {
        base.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task Uploads_keep_to_the_upload_rate_and_downloads_to_the_download_rate()
    {
        using var backend = new ThrottledBackend(new LocalDirectoryBackend(_folder.Combine("slow")), new BandwidthLimiter(400 << 10), new BandwidthLimiter(800 << 10));
        var content = TestData.RandomBytes(400 << 10);

        var clock = Stopwatch.StartNew();
        await backend.PutAsync("data/00/a", content);
        await backend.PutAsync("data/00/b", content);
        var uploading = clock.Elapsed;
        clock.Restart();
        for (int i = 0; i < 4; i++) await backend.GetAsync("data/00/a");
        var downloading = clock.Elapsed;

        // 800 KiB at 400 KiB/s and 1600 KiB at 800 KiB/s: two seconds each, less the first burst (1/8 s).
        Assert.True(uploading > TimeSpan.FromSeconds(1.7), $"800 KiB went up in {uploading.TotalSeconds:0.00} s");
        Assert.True(downloading > TimeSpan.FromSeconds(1.7), $"1600 KiB came down in {downloading.TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task Concurrent_transfers_share_one_limit()
    {
        using var backend = new ThrottledBackend(new LocalDirectoryBackend(_folder.Combine("shared")), new BandwidthLimiter(1 << 20), null);

        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, 8), async (i, ct) => await backend.PutAsync($"data/00/{i}", TestData.RandomBytes(256 << 10, seed: i), ct));

        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(1.7), $"2 MiB at 1 MiB/s took {clock.Elapsed.TotalSeconds:0.00} s");
    }

    [Fact]
    public void A_negative_limit_is_a_usage_error()
    {
        Assert.Throws<Strata.Errors.UsageException>(() => BandwidthLimiter.FromKibPerSecond(-1));
    }

    [Fact]
    public void No_limit_or_zero_means_unlimited()
    {
        Assert.Null(BandwidthLimiter.FromKibPerSecond(null));
        Assert.Null(BandwidthLimiter.FromKibPerSecond(0));
        Assert.Equal(2048, BandwidthLimiter.FromKibPerSecond(2)!.BytesPerSecond);
    }
}
