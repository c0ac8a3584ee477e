using Strata.Errors;
using Strata.Locking;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Repair;

/// <summary>
/// <c>strata repair snapshots</c>: writes a new snapshot for every snapshot that references lost
/// data (a blob no index names, or whose pack is gone). Files keep their intact chunks, lose the
/// missing ones and are marked <c>damaged</c>; a directory whose tree is lost becomes an empty
/// directory marked damaged; everything else is kept as it was. The new snapshot carries the tag
/// <c>repaired</c>; the original is removed only when asked (<see cref="ForgetOriginals"/>), so
/// nothing is deleted that a later, better repair could still use.
/// </summary>
public sealed class SnapshotRepairer(Repository.Repository repo)
{
    public bool ForgetOriginals { get; init; }
    public bool DryRun { get; init; }
    public Action<string>? OnProgress { get; set; }

    private readonly Dictionary<BlobId, (BlobId NewId, List<string> Lost)> _repairedTrees = new();
    private HashSet<BlobId> _storedPacks = new();
    private BlobWriter? _writer;

    public async Task<List<SnapshotRepair>> RunAsync(IReadOnlyList<Snapshot> snapshots, CancellationToken ct = default)
    {
        await using var lease = await Leases.AcquireAsync(repo, Lease.Backup, ct).ConfigureAwait(false);
        await repo.LoadIndexAsync(ct).ConfigureAwait(false);
        _storedPacks = (await repo.ListPacksAsync(ct).ConfigureAwait(false)).Keys.ToHashSet();
        var repairs = new List<SnapshotRepair>();
        await using (_writer = new BlobWriter(repo))
        {
            foreach (var snapshot in snapshots)
            {
                OnProgress?.Invoke($"examining snapshot {snapshot.Id.ToShortString()}");
                if (snapshot.Kind is not null && !snapshot.IsImage)
                    throw new CorruptDataException($"snapshot {snapshot.Id.ToShortString()} is of a kind this Strata does not know ('{snapshot.Kind}')");
                var (root, lost) = snapshot.IsImage
                    ? await RepairImageAsync(snapshot, ct).ConfigureAwait(false)
                    : await RepairTreeAsync(snapshot.Tree, ct).ConfigureAwait(false);
                if (lost.Count == 0) continue;
                repairs.Add(new SnapshotRepair(snapshot, root, lost));
            }
            if (DryRun || repairs.Count == 0) return repairs;
            await _writer.FlushAsync(ct).ConfigureAwait(false);
        }
        lease.EnsureValid();
        foreach (var repair in repairs)
        {
            var old = repair.Original;
            var fixedSnapshot = new Snapshot
            {
                Time = old.Time, Tree = repair.NewTree, Paths = old.Paths, Hostname = old.Hostname, Username = old.Username,
                Uid = old.Uid, Gid = old.Gid, Excludes = old.Excludes, Parent = old.Parent, ProgramVersion = StrataVersion.Text,
                // The repaired image no longer differs from its parent only where the change list says: that list is dropped.
                Summary = old.Summary, Original = old.Id, Kind = old.Kind, Image = old.Image?.WithChanges(null, null),
                Tags = [.. old.Tags ?? [], .. (old.Tags?.Contains(Snapshot.RepairedTag) == true ? Array.Empty<string>() : [Snapshot.RepairedTag])],
            };
            repair.NewSnapshot = await repo.SaveSnapshotAsync(fixedSnapshot, ct).ConfigureAwait(false);
            if (ForgetOriginals) await repo.DeleteSnapshotAsync(old.Id, ct).ConfigureAwait(false);
        }
        return repairs;
    }

    /// <summary>
    /// An image snapshot keeps every block that is still stored; lost blocks (or whole lost segments
    /// of the block map) read as zeros in the repaired snapshot, and each lost byte range is reported.
    /// </summary>
    private async Task<(BlobId Id, List<string> Lost)> RepairImageAsync(Snapshot snapshot, CancellationToken ct)
    {
        var info = snapshot.Image ?? throw new CorruptDataException($"image snapshot {snapshot.Id.ToShortString()} has no image description");
        var lost = new List<string>();
        var map = new Images.BlockMap(info.Size, info.BlockSize);
        Images.BlockMapFormat.Root? root = null;
        if (IsAvailable(snapshot.Tree))
        {
            try { root = await Images.BlockMapStore.LoadRootAsync(repo, snapshot.Tree, ct).ConfigureAwait(false); }
            catch (StrataException) { root = null; }
        }
        if (root is null)
        {
            lost.Add($"the whole image ({info.Size} bytes): its block map is lost");
        }
        else
        {
            int perSegment = Images.BlockMapFormat.BlocksPerSegment;
            for (int s = 0; s < root.Value.Segments.Length; s++)
            {
                int first = s * perSegment, count = Math.Min(perSegment, map.BlockCount - first);
                var segment = root.Value.Segments[s];
                bool read = false;
                if (IsAvailable(segment))
                {
                    try
                    {
                        var ids = new BlobId[count];
                        Images.BlockMapFormat.DecodeSegment(await repo.ReadBlobAsync(segment, ct).ConfigureAwait(false), ids, $"block-map segment {segment.ToShortString()}");
                        map.Blocks.LoadSegment(s, ids, segment);
                        read = true;
                    }
                    catch (StrataException) { }
                }
                if (!read)
                {
                    map.Blocks.ClearSegment(s);
                    lost.Add(LostRange(first, count, info.BlockSize, "block-map segment lost"));
                    continue;
                }
                for (int b = first; b < first + count; b++)
                {
                    if (map.Blocks[b].IsZero || IsAvailable(map.Blocks[b])) continue;
                    map.Blocks[b] = default;
                    lost.Add(LostRange(b, 1, info.BlockSize, "block lost"));
                }
            }
        }
        if (lost.Count == 0) return (snapshot.Tree, lost);
        return (Images.BlockMapStore.Save(_writer!, map), lost);
    }

    private static string LostRange(long firstBlock, long blocks, int blockSize, string why) =>
        $"bytes {firstBlock * blockSize}-{(firstBlock + blocks) * blockSize - 1} ({why}; now zeros)";

    private bool IsAvailable(BlobId id) => repo.Index.TryGet(id, out var location) && _storedPacks.Contains(repo.Index.PackOf(location));

    /// <summary>The id of the repaired tree (the same id when nothing below it was lost) and the lost paths below it.</summary>
    private async Task<(BlobId Id, List<string> Lost)> RepairTreeAsync(BlobId treeId, CancellationToken ct)
    {
        if (_repairedTrees.TryGetValue(treeId, out var known)) return known;
        var lost = new List<string>();
        Tree tree;
        try
        {
            if (!IsAvailable(treeId)) throw new CorruptDataException("its data is lost");
            tree = await repo.LoadTreeAsync(treeId, ct, cache: false).ConfigureAwait(false);
        }
        catch (StrataException)
        {
            // The whole directory listing is lost: an empty directory says so, the caller marks it.
            var empty = _writer!.Save(BlobType.Tree, new Tree().Serialize(), out _);
            var verdict = (empty, new List<string> { "/ (directory contents lost)" });
            _repairedTrees[treeId] = verdict;
            return verdict;
        }
        bool changed = false;
        foreach (var node in tree.Nodes)
        {
            if (node.Subtree is { } sub)
            {
                var (newSub, below) = await RepairTreeAsync(sub, ct).ConfigureAwait(false);
                if (below.Count == 0) continue;
                changed = true;
                node.Subtree = newSub;
                if (below.Contains("/ (directory contents lost)")) node.Damaged = true;
                lost.AddRange(below.Select(b => "/" + node.Name + (b.StartsWith("/ (", StringComparison.Ordinal) ? b[1..] : b)));
            }
            else if (node.Content is { } content && !content.All(IsAvailable))
            {
                var kept = content.Where(IsAvailable).ToList();
                long missing = node.Size - kept.Sum(id => (long)repo.Locate(id).RawLength);
                node.Content = kept;
                node.Size = kept.Sum(id => (long)repo.Locate(id).RawLength);
                node.Damaged = true;
                changed = true;
                lost.Add($"/{node.Name} ({content.Count - kept.Count} of {content.Count} chunks, {missing} bytes lost)");
            }
        }
        var result = (changed ? _writer!.Save(BlobType.Tree, tree.Serialize(), out _) : treeId, lost);
        _repairedTrees[treeId] = result;
        return result;
    }
}

public sealed class SnapshotRepair(Snapshot original, BlobId newTree, List<string> lostPaths)
{
    public Snapshot Original { get; } = original;
    public BlobId NewTree { get; } = newTree;
    public List<string> LostPaths { get; } = lostPaths;
    public BlobId? NewSnapshot { get; set; }
}
