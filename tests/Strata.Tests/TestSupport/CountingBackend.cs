using System.Runtime.CompilerServices;
using Strata.Storage;

namespace Strata.Tests.TestSupport;

/// <summary>Passes every call to another backend and counts the whole-object reads, for tests of what a wrapper saves.</summary>
public sealed class CountingBackend(IStorageBackend inner) : IStorageBackend
{
    private int _gets;

    public IStorageBackend Inner => inner;
    public int Gets => Volatile.Read(ref _gets);

    public string Location => inner.Location;
    public string StagingDirectory => inner.StagingDirectory;
    public Task<bool> ExistsAsync(string name, CancellationToken ct = default) => inner.ExistsAsync(name, ct);
    public Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken ct = default) => inner.PutAsync(name, content, ct);
    public Task PutFileAsync(string name, string localPath, CancellationToken ct = default) => inner.PutFileAsync(name, localPath, ct);

    public Task<byte[]> GetAsync(string name, long offset = 0, int length = -1, CancellationToken ct = default)
    {
        Interlocked.Increment(ref _gets);
        return inner.GetAsync(name, offset, length, ct);
    }

    public Task ReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct = default) => inner.ReadAsync(name, offset, destination, ct);

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var o in inner.ListAsync(prefix, ct)) yield return o;
    }

    public Task DeleteAsync(string name, CancellationToken ct = default) => inner.DeleteAsync(name, ct);
    public void Dispose() => inner.Dispose();
}
