using Strata.Images;
using Strata.Snapshots;

namespace Strata.Nbd;

/// <summary>Opening an image snapshot as an <see cref="SnapshotExport"/>.</summary>
public static class SnapshotExports
{
    /// <param name="overlayPath">With a path the export is writable: writes go to this new overlay file.</param>
    /// <param name="keepOverlay">Keep the overlay file when the export is disposed (else it is deleted).</param>
    public static async Task<SnapshotExport> OpenAsync(Repository.Repository repo, Snapshot snapshot, string? overlayPath, bool keepOverlay, long cacheBytes, CancellationToken ct)
    {
        await repo.LoadIndexAsync(ct).ConfigureAwait(false);
        var map = await ImageSnapshots.LoadMapAsync(repo, snapshot, ct).ConfigureAwait(false);
        var name = snapshot.Id.ToShortString();
        var reader = new SnapshotImageReader(repo, map, name, cacheBytes);
        var overlay = overlayPath is null ? null : CopyOnWriteOverlay.Create(overlayPath, map.ImageSize, map.BlockSize, map.BlockCount, deleteOnDispose: !keepOverlay);
        return new SnapshotExport(name, reader, overlay);
    }
}
