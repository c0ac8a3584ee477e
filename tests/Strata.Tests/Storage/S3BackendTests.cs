using Strata.Errors;
using Strata.Storage;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Storage;

/// <summary>The storage contract against a real S3 server, plus what is particular to S3.</summary>
[Collection("S3")]
public sealed class S3BackendTests : StorageBackendContract
{
    private readonly S3Server _server;
    private readonly TempFolder _staging = new("s3-staging");

    public S3BackendTests(S3Server server)
    {
        _server = server;
        S3Server.UseCredentials();
    }

    private S3Backend NewBackend(string? location = null, S3BackendOptions? options = null)
    {
        var backend = new S3Backend(S3Location.Parse(location ?? _server.NewLocation()), options ?? new S3BackendOptions { StagingDirectory = _staging.Path });
        backend.CreateBucketIfMissingAsync().GetAwaiter().GetResult();
        return backend;
    }

    protected override IStorageBackend CreateBackend() => NewBackend();

    public override void Dispose()
    {
        base.Dispose();
        _staging.Dispose();
    }

    private string StageFile(byte[] content)
    {
        Directory.CreateDirectory(_staging.Path);
        var path = Path.Combine(_staging.Path, $"pack-{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(path, content);
        return path;
    }

    [Fact]
    public async Task A_staged_file_is_uploaded_whole_and_then_removed()
    {
        var content = TestData.RandomBytes(300_000);
        var staged = StageFile(content);

        await Backend.PutFileAsync("data/ab/abcd", staged);

        Assert.Equal(content, await Backend.GetAsync("data/ab/abcd"));
        Assert.False(File.Exists(staged));
    }

    [Fact]
    public async Task A_large_staged_file_goes_up_in_parts_and_reads_back_byte_for_byte()
    {
        using var backend = NewBackend(options: new S3BackendOptions { StagingDirectory = _staging.Path, MultipartThreshold = 5 << 20, PartSize = 5 << 20 });
        var content = TestData.RandomBytes((12 << 20) + 12345);
        var staged = StageFile(content);

        await backend.PutFileAsync("data/cd/cdef", staged);

        Assert.Equal(content, await backend.GetAsync("data/cd/cdef"));
        Assert.Equal(content.AsSpan((5 << 20) - 10, 20).ToArray(), await backend.GetAsync("data/cd/cdef", (5 << 20) - 10, 20));
        Assert.False(File.Exists(staged));
    }

    [Fact]
    public async Task Small_reads_of_a_pack_are_served_from_whole_segments_and_read_exactly()
    {
        using var backend = NewBackend(options: new S3BackendOptions { PackSegmentSize = 64 << 10, PackSegmentsCached = 8 });
        var content = TestData.RandomBytes(300_000);
        var pack = "data/ab/" + new string('a', 2) + new string('b', 62);
        await backend.PutAsync(pack, content);

        for (int offset = 0; offset + 1000 <= content.Length; offset += 1000)
            Assert.Equal(content.AsSpan(offset, 1000).ToArray(), await backend.GetAsync(pack, offset, 1000));
        var across = new byte[20_000];
        await backend.ReadAsync(pack, (64 << 10) - 10_000, across);
        Assert.Equal(content.AsSpan((64 << 10) - 10_000, 20_000).ToArray(), across);
        await backend.ReadAsync(pack, content.Length - 5, across.AsMemory(0, 5));
        Assert.Equal(content[^5..], across[..5]);

        Assert.Equal(5, backend.SegmentFetches); // 300 000 bytes in 64 KiB segments, each fetched once
        await Assert.ThrowsAsync<CorruptDataException>(() => backend.ReadAsync(pack, content.Length - 5, new byte[10]));
        await Assert.ThrowsAsync<CorruptDataException>(() => backend.ReadAsync(pack, content.Length + 70_000, new byte[10]));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => backend.ReadAsync("data/cd/" + new string('c', 64), 0, new byte[10]));
    }

    [Theory]
    [InlineData(16, 3)]
    [InlineData(0, 5)]
    public async Task Segments_pushed_out_of_memory_are_read_back_from_the_spill_folder_not_downloaded_again(int spilled, int expectedFetches)
    {
        using var backend = NewBackend(options: new S3BackendOptions { PackSegmentSize = 64 << 10, PackSegmentsCached = 1, PackSegmentsSpilled = spilled });
        var content = TestData.RandomBytes(150_000);
        var pack = "data/ef/" + new string('e', 64);
        await backend.PutAsync(pack, content);

        foreach (var offset in new[] { 0, 70_000, 10, 140_000, 20 })
            Assert.Equal(content.AsSpan(offset, 100).ToArray(), await backend.GetAsync(pack, offset, 100));

        Assert.Equal(expectedFetches, backend.SegmentFetches);
    }

    [Fact]
    public async Task Objects_live_under_the_prefix_of_the_location()
    {
        var bucket = _server.NewBucketName();
        using var inner = NewBackend($"s3:{_server.Endpoint}/{bucket}/deep/prefix");
        using var whole = NewBackend($"s3:{_server.Endpoint}/{bucket}");

        await inner.PutAsync("config", new byte[] { 7 });

        Assert.True(await whole.ExistsAsync("deep/prefix/config"));
        var listed = new List<StoredObject>();
        await foreach (var o in inner.ListAsync("")) listed.Add(o);
        Assert.Equal([new StoredObject("config", 1)], listed);
    }

    [Fact]
    public async Task Listing_pages_through_more_than_a_thousand_objects()
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, 1100), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await Backend.PutAsync($"index/{i:D5}", new byte[] { (byte)i }, ct));

        var names = new HashSet<string>();
        await foreach (var o in Backend.ListAsync("index/")) names.Add(o.Name);

        Assert.Equal(1100, names.Count);
    }

    [Fact]
    public async Task A_missing_bucket_is_a_storage_error_naming_it()
    {
        var bucket = _server.NewBucketName();
        using var backend = new S3Backend(S3Location.Parse($"s3:{_server.Endpoint}/{bucket}"));

        Assert.False(await backend.ExistsAsync("config"));
        var e = await Assert.ThrowsAsync<StorageException>(() => backend.PutAsync("config", new byte[1]));
        Assert.Contains(bucket, e.Message);
    }

    [Fact]
    public async Task Wrong_credentials_are_reported_as_access_denied()
    {
        var location = _server.NewLocation();
        using (NewBackend(location)) { }
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "NOT-A-KEY");
        try
        {
            using var backend = new S3Backend(S3Location.Parse(location));
            var e = await Assert.ThrowsAnyAsync<StorageException>(() => backend.PutAsync("config", new byte[1]));
            Assert.Contains("access denied", e.Message);
            Assert.Contains("AWS_ACCESS_KEY_ID", e.Message);
        }
        finally
        {
            S3Server.UseCredentials();
        }
    }

    [Fact]
    public async Task A_server_that_is_not_there_fails_cleanly_after_retries()
    {
        var retries = 0;
        using var backend = new S3Backend(S3Location.Parse("s3:http://127.0.0.1:1/bucket"), new S3BackendOptions
        {
            Retry = new RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1), OnRetry = (_, _) => Interlocked.Increment(ref retries) },
        });

        var e = await Assert.ThrowsAsync<StorageException>(() => backend.GetAsync("config"));

        Assert.Contains("config", e.Message);
        Assert.Equal(2, retries);
    }
}
