using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Strata.Errors;

namespace Strata.Storage;

/// <summary>
/// A repository in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, …) through AWSSDK.S3.
/// Atomicity (the backend contract) comes from S3 itself: a PUT and a CompleteMultipartUpload
/// make an object appear whole or not at all. A multipart upload that fails is aborted, so its
/// parts do not linger (they were never visible as an object anyway). Every request is retried on
/// transient failures (5xx, throttling, dropped connections, bodies cut short, timeouts) by
/// <see cref="RetryPolicy"/>, the SDK's own retries being off so that one policy governs all.
/// Packs are staged in a local temporary folder and uploaded from there.
/// </summary>
public sealed class S3Backend : IStorageBackend
{
    private readonly AmazonS3Client _client;
    private readonly S3Location _location;
    private readonly S3BackendOptions _options;
    private readonly PackSegmentCache? _segments;
    private int _staleFilesRemoved;

    public S3Backend(S3Location location, S3BackendOptions? options = null)
    {
        _location = location;
        _options = options ?? new S3BackendOptions();
        var config = new AmazonS3Config
        {
            ServiceURL = location.Endpoint.ToString(),
            // Path-style addressing works on every S3-compatible store; AWS itself prefers virtual hosts.
            ForcePathStyle = !location.Endpoint.Host.EndsWith(".amazonaws.com", StringComparison.OrdinalIgnoreCase),
            AuthenticationRegion = Environment.GetEnvironmentVariable("AWS_REGION") is { Length: > 0 } region ? region
                : Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") is { Length: > 0 } fallback ? fallback : "us-east-1",
            // Checksums only where S3 demands them: several S3-compatible servers store the SDK's
            // default aws-chunked trailer framing as object content (../shared/FEASIBILITY.md §2).
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
            Timeout = _options.RequestTimeout,
        };
        _client = Credentials() is { } credentials ? new AmazonS3Client(credentials, config) : new AmazonS3Client(config);
        if (_options.PackSegmentSize > 0)
            _segments = new PackSegmentCache(_options.PackSegmentSize, _options.PackSegmentsCached, _options.PackSegmentsSpilled, FetchUpToAsync);
    }

    /// <summary>Pack segments fetched so far (for tests and figures).</summary>
    internal int SegmentFetches => _segments?.Fetches ?? 0;

    /// <summary>AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN) if set; otherwise null: the SDK's own chain (profiles, instance roles).</summary>
    private static AWSCredentials? Credentials()
    {
        var id = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
        var secret = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(secret)) return null;
        var token = Environment.GetEnvironmentVariable("AWS_SESSION_TOKEN");
        return string.IsNullOrEmpty(token) ? new BasicAWSCredentials(id, secret) : new SessionAWSCredentials(id, secret, token);
    }

    public string Location => _location.ToString();

    /// <summary>Where packs are staged before upload: a local temporary folder of this user; leftovers of killed writers (untouched for an hour) are removed on first use.</summary>
    public string StagingDirectory
    {
        get
        {
            // One folder per user: a folder another user created in a shared /tmp would not be writable.
            var directory = _options.StagingDirectory ?? Path.Combine(Path.GetTempPath(), $"strata-staging-{Environment.UserName}");
            if (Interlocked.Exchange(ref _staleFilesRemoved, 1) == 0) RemoveStaleFiles(directory);
            return directory;
        }
    }

    /// <summary>Creates the bucket if it does not exist yet (for <c>strata init</c>).</summary>
    public async Task CreateBucketIfMissingAsync(CancellationToken ct = default)
    {
        await Run("create bucket", _location.Bucket, async token =>
        {
            try { await _client.PutBucketAsync(new PutBucketRequest { BucketName = _location.Bucket }, token).ConfigureAwait(false); }
            catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists") { }
        }, ct).ConfigureAwait(false);
    }

    public Task<bool> ExistsAsync(string name, CancellationToken ct = default) =>
        Run("look up", name, async token =>
        {
            try
            {
                await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _location.Bucket, Key = _location.KeyOf(name) }, token).ConfigureAwait(false);
                return true;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
        }, ct);

    public Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        var segment = MemoryMarshal.TryGetArray(content, out var s) ? s : new ArraySegment<byte>(content.ToArray());
        return Run("write", name, async token =>
        {
            // A fresh stream for every attempt: a failed attempt may have read part of the last one.
            using var stream = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
            await _client.PutObjectAsync(NewPut(name, stream), token).ConfigureAwait(false);
        }, ct);
    }

    public async Task PutFileAsync(string name, string localPath, CancellationToken ct = default)
    {
        try
        {
            long size = new FileInfo(localPath).Length;
            if (size <= _options.MultipartThreshold)
            {
                await Run("write", name, async token =>
                {
                    using var stream = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                    await _client.PutObjectAsync(NewPut(name, stream), token).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
            }
            else
            {
                await UploadMultipartAsync(name, localPath, size, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot read staged file {localPath} for {name}: {IoErrorText.Describe(e)}", e);
        }
        finally
        {
            TryDelete(localPath);
        }
    }

    private PutObjectRequest NewPut(string name, Stream stream) => new()
    {
        BucketName = _location.Bucket,
        Key = _location.KeyOf(name),
        InputStream = stream,
        AutoCloseStream = false,
        ContentType = "application/octet-stream",
        UseChunkEncoding = false,
    };

    /// <summary>
    /// Large objects go up in parts (a few at once); the object appears only when
    /// CompleteMultipartUpload succeeds. Any failure aborts the upload so no parts are left billed.
    /// </summary>
    private async Task UploadMultipartAsync(string name, string localPath, long size, CancellationToken ct)
    {
        var key = _location.KeyOf(name);
        var uploadId = await Run("start upload of", name, async token =>
            (await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _location.Bucket, Key = key, ContentType = "application/octet-stream" }, token).ConfigureAwait(false)).UploadId, ct).ConfigureAwait(false);
        try
        {
            long partSize = _options.PartSize;
            int partCount = (int)((size + partSize - 1) / partSize);
            var etags = new PartETag[partCount];
            await Parallel.ForEachAsync(Enumerable.Range(0, partCount), new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = _options.PartsInFlight }, async (i, token) =>
            {
                long offset = i * partSize;
                var response = await Run($"upload part {i + 1} of", name, t => _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _location.Bucket,
                    Key = key,
                    UploadId = uploadId,
                    PartNumber = i + 1,
                    FilePath = localPath,
                    FilePosition = offset,
                    PartSize = Math.Min(partSize, size - offset),
                    UseChunkEncoding = false,
                }, t), token).ConfigureAwait(false);
                etags[i] = new PartETag(i + 1, response.ETag);
            }).ConfigureAwait(false);

            bool firstAttempt = true;
            await Run("complete upload of", name, async token =>
            {
                // An earlier attempt may have completed the upload and lost its answer on the way back;
                // the upload is then gone and completing it again fails. Names of multipart objects
                // (packs) are content addresses, so an object of that name and size is this one.
                if (!firstAttempt && await SizeOfAsync(key, token).ConfigureAwait(false) == size) return;
                firstAttempt = false;
                await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = _location.Bucket, Key = key, UploadId = uploadId, PartETags = [.. etags] }, token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch
        {
            await AbortQuietlyAsync(key, uploadId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<long> SizeOfAsync(string key, CancellationToken ct)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _location.Bucket, Key = key }, ct).ConfigureAwait(false);
            return head.ContentLength;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return -1;
        }
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        try
        {
            await RetryPolicy.Default.RunAsync(token => _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _location.Bucket, Key = key, UploadId = uploadId }, token),
                IsTransient, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
        {
            // The upload stays invisible either way; the store's lifecycle rules reap abandoned parts.
        }
    }

    public async Task<byte[]> GetAsync(string name, long offset = 0, int length = -1, CancellationToken ct = default)
    {
        if (offset < 0) throw new CorruptDataException($"{name}: negative offset {offset}");
        if (length == 0)
        {
            await CheckRangeAsync(name, offset, ct).ConfigureAwait(false);
            return [];
        }
        if (_segments is not null && length > 0 && length <= _segments.SegmentSize / 2 && IsPack(name))
        {
            var range = GC.AllocateUninitializedArray<byte>(length);
            await ReadAsync(name, offset, range, ct).ConfigureAwait(false);
            return range;
        }
        return await Run("read", name, async token =>
        {
            using var response = await _client.GetObjectAsync(NewGet(name, offset, length), token).ConfigureAwait(false);
            long available = response.ContentLength;
            CheckRangeAnswer(response, name, offset, length);
            if (length >= 0 && available < length) throw OutsideObject(name, offset, length);
            if (available > Array.MaxLength) throw new StorageException($"{name} is too large to read at once");
            var buffer = GC.AllocateUninitializedArray<byte>(length >= 0 ? length : (int)available);
            await ReadBodyAsync(response, buffer, name, token).ConfigureAwait(false);
            return buffer;
        }, ct).ConfigureAwait(false);
    }

    public async Task ReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct = default)
    {
        if (offset < 0) throw new CorruptDataException($"{name}: negative offset {offset}");
        if (destination.Length == 0)
        {
            await CheckRangeAsync(name, offset, ct).ConfigureAwait(false);
            return;
        }
        // Blob reads from packs (restores, mounts) go through the segment cache: one request serves many blobs.
        if (_segments is not null && destination.Length <= _segments.SegmentSize / 2 && IsPack(name))
        {
            if (!await _segments.TryReadAsync(name, offset, destination, ct).ConfigureAwait(false)) throw OutsideObject(name, offset, destination.Length);
            return;
        }
        await Run("read", name, async token =>
        {
            using var response = await _client.GetObjectAsync(NewGet(name, offset, destination.Length), token).ConfigureAwait(false);
            CheckRangeAnswer(response, name, offset, destination.Length);
            if (response.ContentLength < destination.Length) throw OutsideObject(name, offset, destination.Length);
            await ReadBodyAsync(response, destination, name, token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
    }

    private static bool IsPack(string name) => name.StartsWith(Repository.Layout.DataFolder, StringComparison.Ordinal) && Repository.Layout.IdOf(name) is not null;

    /// <summary>Up to <paramref name="length"/> bytes at <paramref name="offset"/>: fewer at the end of the object.</summary>
    private Task<byte[]> FetchUpToAsync(string name, long offset, int length, CancellationToken ct) =>
        Run("read", name, async token =>
        {
            using var response = await _client.GetObjectAsync(NewGet(name, offset, length), token).ConfigureAwait(false);
            CheckRangeAnswer(response, name, offset, length);
            if (response.ContentLength > length) throw new IOException($"the answer for {name} is longer than the range asked for");
            var buffer = GC.AllocateUninitializedArray<byte>((int)response.ContentLength);
            await ReadBodyAsync(response, buffer, name, token).ConfigureAwait(false);
            return buffer;
        }, ct);

    private GetObjectRequest NewGet(string name, long offset, int length) => new()
    {
        BucketName = _location.Bucket,
        Key = _location.KeyOf(name),
        ByteRange = length > 0 ? new ByteRange(offset, offset + length - 1) : offset > 0 ? new ByteRange($"bytes={offset}-") : null,
    };

    /// <summary>
    /// A range must come back as 206 Partial Content, a whole object as 200; anything else (a
    /// mangled answer from a proxy or load balancer) is a transfer fault and is retried.
    /// </summary>
    private static void CheckRangeAnswer(GetObjectResponse response, string name, long offset, int length)
    {
        var expected = length > 0 || offset > 0 ? HttpStatusCode.PartialContent : HttpStatusCode.OK;
        if (response.HttpStatusCode != expected)
            throw new IOException($"unexpected answer {(int)response.HttpStatusCode} to a range request for {name}");
    }

    /// <summary>A body that ends early is a transfer fault (retried), not a short object: the length was promised.</summary>
    private static async Task ReadBodyAsync(GetObjectResponse response, Memory<byte> destination, string name, CancellationToken ct)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = await response.ResponseStream.ReadAsync(destination[done..], ct).ConfigureAwait(false);
            if (n == 0) throw new IOException($"the response for {name} ended after {done} of {destination.Length} bytes");
            done += n;
        }
    }

    /// <summary>An empty range: the object must exist and the offset lie within it.</summary>
    private async Task CheckRangeAsync(string name, long offset, CancellationToken ct)
    {
        long size = await Run("look up", name, token => SizeOfAsync(_location.KeyOf(name), token), ct).ConfigureAwait(false);
        if (size < 0) throw new ObjectNotFoundException(name, Location);
        if (offset > size) throw OutsideObject(name, offset, 0);
    }

    private static CorruptDataException OutsideObject(string name, long offset, int length) =>
        new($"{name}: range {offset}+{length} lies outside the object");

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var keyPrefix = _location.Prefix.Length == 0 ? prefix : $"{_location.Prefix}/{prefix}";
        int strip = _location.Prefix.Length == 0 ? 0 : _location.Prefix.Length + 1;
        string? token = null;
        do
        {
            var page = await Run("list", prefix.Length == 0 ? "objects" : prefix, t => _client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _location.Bucket,
                Prefix = keyPrefix,
                ContinuationToken = token,
            }, t), ct).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
                yield return new StoredObject(o.Key[strip..], o.Size ?? 0);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
    }

    public Task DeleteAsync(string name, CancellationToken ct = default) =>
        Run("delete", name, token => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _location.Bucket, Key = _location.KeyOf(name) }, token), ct);

    public void Dispose()
    {
        _segments?.Dispose();
        _client.Dispose();
    }

    // ---- retries and errors ----------------------------------------------------------------

    private Task Run(string verb, string name, Func<CancellationToken, Task> operation, CancellationToken ct) =>
        Run(verb, name, async token => { await operation(token).ConfigureAwait(false); return true; }, ct);

    private async Task<T> Run<T>(string verb, string name, Func<CancellationToken, Task<T>> operation, CancellationToken ct)
    {
        try
        {
            return await _options.Retry.RunAsync(operation, IsTransient, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not StrataException && !(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            throw Translate(e, verb, name);
        }
    }

    /// <summary>Failures that may pass: server errors, throttling, broken or slow connections.</summary>
    internal static bool IsTransient(Exception e)
    {
        if (e is AmazonUnmarshallingException) return true;
        if (e is AmazonServiceException service && service.StatusCode != 0)
        {
            int status = (int)service.StatusCode;
            return status >= 500 || status == 429 || status == 408 || service.ErrorCode is "SlowDown" or "RequestTimeout" or "InternalError" or "ServiceUnavailable";
        }
        // An answer cut short shows up as an I/O error, or as XML that ends early.
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is HttpRequestException or IOException or SocketException or TimeoutException or OperationCanceledException or System.Xml.XmlException) return true;
        return false;
    }

    private StrataException Translate(Exception e, string verb, string name)
    {
        var where = $"{name} at {Location}";
        return e switch
        {
            AmazonS3Exception { ErrorCode: "NoSuchBucket" } => new StorageException($"cannot {verb} {where}: the bucket '{_location.Bucket}' does not exist", e),
            AmazonS3Exception s when s.StatusCode == HttpStatusCode.NotFound => new ObjectNotFoundException(name, Location),
            AmazonS3Exception s when s.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable => new CorruptDataException($"{name}: the range lies outside the object"),
            AmazonS3Exception s when s.StatusCode == HttpStatusCode.Forbidden =>
                new StorageException($"cannot {verb} {where}: access denied ({s.ErrorCode}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's permissions", e),
            AmazonServiceException s when s.StatusCode != 0 => new StorageException($"cannot {verb} {where}: {(int)s.StatusCode} {s.ErrorCode}: {s.Message}", e),
            OperationCanceledException => new StorageException($"cannot {verb} {where}: no answer within {_options.RequestTimeout.TotalSeconds:0} s, after {_options.Retry.MaxAttempts} attempts", e),
            _ when IsTransient(e) => new StorageException($"cannot {verb} {where}: {Innermost(e).Message} (after {_options.Retry.MaxAttempts} attempts)", e),
            _ => new StorageException($"cannot {verb} {where}: {e.Message}", e),
        };
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    private static void RemoveStaleFiles(string directory)
    {
        if (!Directory.Exists(directory)) return;
        var cutoff = DateTime.UtcNow - LocalDirectoryBackend.StaleTemporaryAge;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("pack-*.tmp"))
            if (file.LastWriteTimeUtc < cutoff) TryDelete(file.FullName);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
