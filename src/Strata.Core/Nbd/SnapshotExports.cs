using Strata.Images;
using Strata.Snapshots;

namespace Strata.Nbd;

/// <summary>Opening an image snapshot as an NBD export: served as it is, or restored live into a new file.</summary>
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

    /// <summary>A live restore of <paramref name="snapshot"/> into the new raw file <paramref name="targetPath"/>; start its copy with <see cref="LiveRestoreExport.CopyAsync"/>.</summary>
    public static async Task<LiveRestoreExport> OpenLiveRestoreAsync(Repository.Repository repo, Snapshot snapshot, string targetPath, long cacheBytes, CancellationToken ct)
    {
        if (File.Exists(targetPath) || Directory.Exists(targetPath) || targetPath.StartsWith("/dev/", StringComparison.Ordinal) || NbdAddress.LooksLikeNbd(targetPath))
            throw new Errors.UsageException($"--live restores into a new raw file; {targetPath} already exists or is not a file path");
        await repo.LoadIndexAsync(ct).ConfigureAwait(false);
        var map = await ImageSnapshots.LoadMapAsync(repo, snapshot, ct).ConfigureAwait(false);
        var name = snapshot.Id.ToShortString();
        return LiveRestoreExport.Create(name, new SnapshotImageReader(repo, map, name, cacheBytes), targetPath);
    }
}
