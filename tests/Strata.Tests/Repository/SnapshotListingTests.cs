using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Strata.Repository;
using Strata.Snapshots;
using Strata.Storage;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Repository;

/// <summary>Listing snapshots while another process forgets some: what is gone is skipped, never an error.</summary>
public sealed class SnapshotListingTests : IDisposable
{
    private readonly TempFolder _folder = new("listing");

    public void Dispose() => _folder.Dispose();

    /// <summary>A local directory whose snapshot listing is followed at once by another process deleting the first snapshot listed.</summary>
    private sealed class ForgetsAfterListing(string directory) : IStorageBackend
    {
        private readonly LocalDirectoryBackend _inner = new(directory);
        public string? Forgotten { get; private set; }
        public string Location => _inner.Location;
        public string StagingDirectory => _inner.StagingDirectory;
        public Task<bool> ExistsAsync(string name, CancellationToken ct = default) => _inner.ExistsAsync(name, ct);
        public Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken ct = default) => _inner.PutAsync(name, content, ct);
        public Task PutFileAsync(string name, string localPath, CancellationToken ct = default) => _inner.PutFileAsync(name, localPath, ct);
        public Task<byte[]> GetAsync(string name, long offset = 0, int length = -1, CancellationToken ct = default) => _inner.GetAsync(name, offset, length, ct);
        public Task ReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct = default) => _inner.ReadAsync(name, offset, destination, ct);
        public Task DeleteAsync(string name, CancellationToken ct = default) => _inner.DeleteAsync(name, ct);
        public void Dispose() => _inner.Dispose();

        public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
        {
            var listed = new List<StoredObject>();
            await foreach (var o in _inner.ListAsync(prefix, ct)) listed.Add(o);
            if (prefix == Layout.SnapshotsFolder && listed.Count > 0 && Forgotten is null)
            {
                Forgotten = listed[0].Name;
                using var other = new LocalDirectoryBackend(directory);
                await other.DeleteAsync(Forgotten, ct);
            }
            foreach (var o in listed) yield return o;
        }
    }

    [Fact]
    public async Task A_snapshot_forgotten_between_listing_and_reading_is_skipped()
    {
        using (var repo = await TestRepositories.InitAsync(_folder.Path))
            for (var i = 0; i < 3; i++)
                await repo.SaveSnapshotAsync(new Snapshot { Time = DateTimeOffset.UnixEpoch.AddDays(i), Tree = new BlobId(RandomNumberGenerator.GetBytes(32)), Paths = ["/d"], Hostname = "h" });
        var backend = new ForgetsAfterListing(_folder.Path);
        using var racing = await Strata.Repository.Repository.OpenAsync(backend, TestRepositories.Password);

        var snapshots = await racing.ListSnapshotsAsync();

        Assert.NotNull(backend.Forgotten);
        Assert.Equal(2, snapshots.Count);
        Assert.DoesNotContain(snapshots, s => Layout.Snapshot(s.Id) == backend.Forgotten);
    }
}
