using Strata.Errors;
using Strata.Storage;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Storage;

/// <summary>The S3 backend through a proxy that injects faults: every operation still does exactly its job, or fails cleanly.</summary>
[Collection("S3")]
public sealed class S3FaultToleranceTests : IDisposable
{
    private static readonly RetryPolicy QuickRetries = new() { MaxAttempts = 12, BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(100) };
    private readonly S3Server _server;
    private readonly FaultInjectingProxy _proxy;
    private readonly TempFolder _staging = new("s3-staging");
    private readonly string _bucket;

    public S3FaultToleranceTests(S3Server server)
    {
        _server = server;
        S3Server.UseCredentials();
        _proxy = new FaultInjectingProxy(server.Endpoint) { DelayLength = TimeSpan.FromMilliseconds(50) };
        _bucket = server.NewBucketName();
        using var direct = Direct();
        direct.CreateBucketIfMissingAsync().GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        _proxy.Dispose();
        _staging.Dispose();
    }

    private S3Backend Direct() => new(S3Location.Parse($"s3:{_server.Endpoint}/{_bucket}/repo"));

    private S3Backend ThroughProxy(RetryPolicy? retry = null, long multipartThreshold = 64L << 20) =>
        new(S3Location.Parse($"s3:{_proxy.Endpoint}/{_bucket}/repo"), new S3BackendOptions
        {
            Retry = retry ?? QuickRetries,
            StagingDirectory = _staging.Path,
            MultipartThreshold = multipartThreshold,
            PartSize = 5 << 20,
            RequestTimeout = TimeSpan.FromSeconds(20),
        });

    private string Stage(byte[] content)
    {
        Directory.CreateDirectory(_staging.Path);
        var path = Path.Combine(_staging.Path, $"pack-{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(path, content);
        return path;
    }

    [Fact]
    public async Task Puts_gets_ranges_and_listings_come_out_exact_through_a_third_of_requests_failing()
    {
        _proxy.FaultRate = 0.33;
        using var backend = ThroughProxy();
        var objects = Enumerable.Range(0, 40).ToDictionary(i => $"data/{i % 8:x2}/obj{i:D3}", i => TestData.RandomBytes(20_000 + 997 * i, seed: i));

        await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (o, ct) => await backend.PutAsync(o.Key, o.Value, ct));
        var listed = new Dictionary<string, long>();
        await foreach (var o in backend.ListAsync("data/")) listed.Add(o.Name, o.Size);
        foreach (var (name, content) in objects)
        {
            Assert.Equal(content, await backend.GetAsync(name));
            Assert.Equal(content.AsSpan(1000, 5000).ToArray(), await backend.GetAsync(name, 1000, 5000));
            Assert.True(await backend.ExistsAsync(name));
        }

        Assert.Equal(objects.ToDictionary(o => o.Key, o => (long)o.Value.Length), listed);
        Assert.True(_proxy.TotalInjected >= 20, $"only {_proxy.TotalInjected} faults were injected");
        foreach (var fault in new[] { Fault.DropConnection, Fault.InternalError, Fault.SlowDown, Fault.CutResponseBody, Fault.LoseAnswer })
            Assert.True(_proxy.Injected(fault) > 0, $"no {fault} was injected");
    }

    [Fact]
    public async Task A_multipart_upload_survives_faults_and_reads_back_byte_for_byte()
    {
        _proxy.FaultRate = 0.3;
        using var backend = ThroughProxy(multipartThreshold: 5 << 20);
        var content = TestData.RandomBytes((16 << 20) + 1);

        await backend.PutFileAsync("data/ab/abcd", Stage(content));

        _proxy.FaultRate = 0;
        Assert.Equal(content, await backend.GetAsync("data/ab/abcd"));
        Assert.True(_proxy.TotalInjected > 0);
    }

    [Fact]
    public async Task A_completion_whose_answer_is_lost_still_counts_as_stored()
    {
        using var backend = ThroughProxy(multipartThreshold: 5 << 20);
        int completions = 0;
        _proxy.Choose = (method, path) =>
            method == "POST" && path.Contains("uploadId=", StringComparison.Ordinal) && Interlocked.Increment(ref completions) == 1 ? Fault.LoseAnswer : Fault.None;
        var content = TestData.RandomBytes((10 << 20) + 7);

        await backend.PutFileAsync("data/cd/cdef", Stage(content));

        Assert.Equal(1, _proxy.Injected(Fault.LoseAnswer));
        Assert.Equal(content, await backend.GetAsync("data/cd/cdef"));
    }

    [Fact]
    public async Task A_multipart_upload_that_cannot_complete_leaves_no_object_and_no_staged_file()
    {
        using var backend = ThroughProxy(new RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1) }, multipartThreshold: 5 << 20);
        _proxy.Choose = (method, path) => method == "POST" && path.Contains("uploadId=", StringComparison.Ordinal) ? Fault.InternalError : Fault.None;
        var staged = Stage(TestData.RandomBytes(11 << 20));

        var e = await Assert.ThrowsAsync<StorageException>(() => backend.PutFileAsync("data/ef/ef01", staged));

        Assert.Contains("data/ef/ef01", e.Message);
        Assert.False(File.Exists(staged));
        using var direct = Direct();
        Assert.False(await direct.ExistsAsync("data/ef/ef01"));
        await foreach (var o in direct.ListAsync("")) Assert.Fail($"{o.Name} is visible after a failed upload");
        Assert.True(_proxy.Injected(Fault.InternalError) >= 3);
    }

    [Fact]
    public async Task A_store_that_keeps_failing_gives_a_storage_error_after_the_last_attempt_and_keeps_what_it_had()
    {
        using (var direct = Direct()) await direct.PutAsync("index/i1", new byte[] { 1, 2, 3 });
        _proxy.Choose = (_, _) => Fault.SlowDown;
        using var backend = ThroughProxy(new RetryPolicy { MaxAttempts = 4, BaseDelay = TimeSpan.FromMilliseconds(1) });

        var e = await Assert.ThrowsAsync<StorageException>(() => backend.PutAsync("index/i1", new byte[] { 9, 9 }));

        Assert.Contains("index/i1", e.Message);
        Assert.Contains("503", e.Message);
        Assert.Equal(4, _proxy.Injected(Fault.SlowDown));
        using var check = Direct();
        Assert.Equal(new byte[] { 1, 2, 3 }, await check.GetAsync("index/i1"));
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_retried()
    {
        _proxy.DelayLength = TimeSpan.FromSeconds(3);
        int calls = 0;
        _proxy.Choose = (_, _) => Interlocked.Increment(ref calls) <= 2 ? Fault.Delay : Fault.None;
        using var backend = new S3Backend(S3Location.Parse($"s3:{_proxy.Endpoint}/{_bucket}/repo"), new S3BackendOptions
        {
            Retry = QuickRetries,
            RequestTimeout = TimeSpan.FromMilliseconds(700),
        });

        await backend.PutAsync("config", new byte[] { 42 });

        _proxy.Choose = null;
        Assert.Equal(new byte[] { 42 }, await backend.GetAsync("config"));
        Assert.Equal(2, _proxy.Injected(Fault.Delay));
    }
}
