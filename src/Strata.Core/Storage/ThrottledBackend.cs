using System.Runtime.CompilerServices;

namespace Strata.Storage;

/// <summary>
/// Keeps a backend's traffic within upload and download rates (--limit-upload, --limit-download):
/// an upload is charged before it starts, a download as it is requested, so the average rate over
/// several objects keeps to the limit for any backend. Listings and lookups are not charged.
/// </summary>
public sealed class ThrottledBackend(IStorageBackend inner, BandwidthLimiter? upload, BandwidthLimiter? download) : IStorageBackend
{
    public IStorageBackend Inner => inner;
    public string Location => inner.Location;
    public string StagingDirectory => inner.StagingDirectory;

    public Task<bool> ExistsAsync(string name, CancellationToken ct = default) => inner.ExistsAsync(name, ct);

    public async Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        if (upload is not null) await upload.WaitAsync(content.Length, ct).ConfigureAwait(false);
        await inner.PutAsync(name, content, ct).ConfigureAwait(false);
    }

    public async Task PutFileAsync(string name, string localPath, CancellationToken ct = default)
    {
        if (upload is not null)
        {
            long size;
            try { size = new FileInfo(localPath).Length; }
            catch (IOException) { size = 0; } // the inner backend reports the unreadable file
            await upload.WaitAsync(size, ct).ConfigureAwait(false);
        }
        await inner.PutFileAsync(name, localPath, ct).ConfigureAwait(false);
    }

    public async Task<byte[]> GetAsync(string name, long offset = 0, int length = -1, CancellationToken ct = default)
    {
        if (download is not null && length > 0) await download.WaitAsync(length, ct).ConfigureAwait(false);
        var bytes = await inner.GetAsync(name, offset, length, ct).ConfigureAwait(false);
        if (download is not null && length < 0) await download.WaitAsync(bytes.Length, ct).ConfigureAwait(false);
        return bytes;
    }

    public async Task ReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct = default)
    {
        if (download is not null) await download.WaitAsync(destination.Length, ct).ConfigureAwait(false);
        await inner.ReadAsync(name, offset, destination, ct).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var o in inner.ListAsync(prefix, ct).ConfigureAwait(false)) yield return o;
    }

    public Task DeleteAsync(string name, CancellationToken ct = default) => inner.DeleteAsync(name, ct);

    public void Dispose() => inner.Dispose();
}
