using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Images;

/// <summary>Finding image snapshots and their stored parts (block map, changed-extent list).</summary>
public static class ImageSnapshots
{
    public static async Task<List<Snapshot>> ListAsync(Repository.Repository repo, CancellationToken ct) =>
        (await repo.ListSnapshotsAsync(ct).ConfigureAwait(false)).Where(s => s.IsImage && s.Image is not null).ToList();

    /// <summary>
    /// Whether <paramref name="snapshot"/> holds the same disk as the snapshot <paramref name="id"/>:
    /// it is that snapshot, or a copy of it (strata copy, replicate), which names it as original. A
    /// repaired snapshot names the one it replaces as original too, but its lost blocks are zeros: not the same disk.
    /// </summary>
    public static bool HoldsSameDiskAs(Snapshot snapshot, BlobId id) =>
        snapshot.Id == id || (snapshot.Original == id && snapshot.Tags?.Contains(Snapshot.RepairedTag) != true);

    /// <summary>Resolves a reference (id prefix or "latest") among image snapshots; a file snapshot is refused by name.</summary>
    public static async Task<Snapshot> FindAsync(Repository.Repository repo, string reference, string? name, CancellationToken ct)
    {
        if (reference == "latest")
        {
            var all = await ListAsync(repo, ct).ConfigureAwait(false);
            return all.LastOrDefault(s => name is null || s.Image!.Name == name)
                ?? throw new UsageException(name is null ? "the repository has no image snapshots yet" : $"no image snapshot of '{name}'");
        }
        var snapshot = await repo.FindSnapshotAsync(reference, ct: ct).ConfigureAwait(false);
        RefuseUnknownKind(snapshot);
        return snapshot.IsImage && snapshot.Image is not null ? snapshot
            : throw new UsageException($"snapshot {snapshot.Id.ToShortString()} is a file snapshot, not a disk image (use 'strata restore' / 'strata ls')");
    }

    /// <summary>The latest image snapshot of disk <paramref name="name"/> taken on <paramref name="host"/>.</summary>
    public static async Task<Snapshot?> LatestAsync(Repository.Repository repo, string name, string host, CancellationToken ct) =>
        (await ListAsync(repo, ct).ConfigureAwait(false)).LastOrDefault(s => s.Image!.Name == name && s.Hostname == host);

    /// <summary>File-tree commands meet image snapshots by id: they refuse with the command to use instead.</summary>
    public static void RefuseImage(Snapshot snapshot, string instead)
    {
        if (snapshot.IsImage)
            throw new UsageException($"snapshot {snapshot.Id.ToShortString()} is a disk image, not a file tree: use '{instead}'");
        RefuseUnknownKind(snapshot);
    }

    /// <summary>FORMAT.md §8: a reader must refuse a snapshot kind it does not know rather than misread it.</summary>
    public static void RefuseUnknownKind(Snapshot snapshot)
    {
        if (snapshot.Kind is not (null or Snapshot.ImageKind))
            throw new UsageException($"snapshot {snapshot.Id.ToShortString()} is of kind '{snapshot.Kind}', which this Strata ({StrataVersion.Text}) does not know: upgrade Strata to read it");
    }

    public static Task<BlockMap> LoadMapAsync(Repository.Repository repo, Snapshot snapshot, CancellationToken ct) =>
        BlockMapStore.LoadAsync(repo, snapshot.Tree, ct);

    public static async Task<List<ImageExtent>?> LoadChangesAsync(Repository.Repository repo, Snapshot snapshot, CancellationToken ct) =>
        snapshot.Image?.Changes is { } id
            ? ChangedExtentList.Decode(await repo.ReadBlobAsync(id, ct).ConfigureAwait(false), $"changed-extent list {id.ToShortString()}")
            : null;
}
