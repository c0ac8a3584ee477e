using System.Collections.Concurrent;
using System.Security.Cryptography;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;
using Strata.Storage;

namespace Strata.Check;

/// <summary>
/// Verifies a repository: every index file and snapshot opens, every pack an index names exists,
/// every blob a snapshot references is indexed and its pack present; with ReadData, every pack
/// is read whole, its hash and header checked and every blob decrypted and re-hashed. Damage is
/// reported per pack together with the snapshots (and paths) it affects.
/// </summary>
public sealed class Checker(Repository.Repository repo)
{
    private const int MaxPathsPerSnapshot = 20;
    private readonly CheckResult _result = new();
    private readonly ConcurrentDictionary<BlobId, string> _damagedPacks = new();

    public Action<string>? OnProgress { get; set; }

    public async Task<CheckResult> RunAsync(CheckOptions options, CancellationToken ct = default)
    {
        // Snapshots are listed before the index is read: each is stored after the index files naming its
        // blobs (FORMAT.md I2), so a backup finishing meanwhile cannot look like a missing blob.
        var snapshotNames = new List<string>();
        await foreach (var obj in repo.Backend.ListAsync(Layout.SnapshotsFolder, ct).ConfigureAwait(false)) snapshotNames.Add(obj.Name);
        await LoadIndexAsync(ct).ConfigureAwait(false);
        var stored = await repo.ListPacksAsync(ct).ConfigureAwait(false);
        var indexed = repo.Index.Packs;
        _result.Packs = indexed.Count;
        foreach (var pack in indexed)
            if (!stored.ContainsKey(pack)) MarkDamaged(pack, "is missing from storage");
        var condemned = (await GarbageRecord.ListAsync(repo, ct).ConfigureAwait(false)).SelectMany(r => r.Packs).ToHashSet();
        var indexedSet = indexed.ToHashSet();
        int unreferenced = stored.Keys.Count(p => !indexedSet.Contains(p) && !condemned.Contains(p));
        int pending = stored.Keys.Count(condemned.Contains);
        if (pending > 0)
            _result.Warnings.Add($"{pending} pack(s) are condemned and will be deleted by the next prune once the backups running when they were condemned have finished");
        if (unreferenced > 0)
            _result.Warnings.Add($"{unreferenced} pack(s) are not in any index (left by interrupted backups; harmless)");

        var readable = indexed.Where(stored.ContainsKey).ToList();
        if (options.Subset is { } subset) readable = subset.Select(readable);
        if (options.ReadData || options.Subset is not null) await ReadPacksAsync(readable, ct).ConfigureAwait(false);
        _result.PacksRead = options.ReadData || options.Subset is not null ? readable.Count : 0;
        await CheckSnapshotsAsync(snapshotNames, ct).ConfigureAwait(false);
        _result.DamagedPacks.AddRange(_damagedPacks.Select(kv => $"{kv.Key}: {kv.Value}").Order(StringComparer.Ordinal));
        return _result;
    }

    private async Task LoadIndexAsync(CancellationToken ct)
    {
        OnProgress?.Invoke("loading index files");
        await foreach (var obj in repo.Backend.ListAsync(Layout.IndexFolder, ct).ConfigureAwait(false))
        {
            try { repo.Index.Add(await repo.LoadIndexFileAsync(obj.Name, ct).ConfigureAwait(false), obj.Name); }
            catch (StrataException e) { _result.Errors.Add($"index file {obj.Name}: {e.Message}"); }
        }
    }


    private async Task ReadPacksAsync(List<BlobId> packs, CancellationToken ct)
    {
        var expected = new Dictionary<BlobId, List<(BlobId Id, BlobLocation Location)>>();
        foreach (var (id, location) in repo.Index.Blobs)
        {
            var pack = repo.Index.PackOf(location);
            if (!expected.TryGetValue(pack, out var list)) expected[pack] = list = new();
            list.Add((id, location));
        }
        long done = 0, blobs = 0, bytes = 0;
        await Parallel.ForEachAsync(packs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (pack, token) =>
        {
            var name = Layout.Pack(pack);
            try
            {
                var data = await repo.Backend.GetAsync(name, ct: token).ConfigureAwait(false);
                Interlocked.Add(ref bytes, data.Length);
                if (new BlobId(SHA256.HashData(data)) != pack) throw new CorruptDataException("content does not match its name");
                var header = PackFormat.ReadHeader(repo.Key.Cipher, data, name).ToDictionary(e => e.Id);
                foreach (var (id, location) in expected.GetValueOrDefault(pack) ?? [])
                {
                    if (!header.TryGetValue(id, out var entry) || entry.Offset != location.Offset || entry.Length != location.Length)
                        throw new CorruptDataException($"blob {id.ToShortString()} is not where the index says");
                    var plaintext = new byte[location.RawLength];
                    repo.OpenBlob(id, data.AsSpan((int)location.Offset, (int)location.Length), plaintext, name);
                    Interlocked.Increment(ref blobs);
                }
            }
            catch (StrataException e)
            {
                MarkDamaged(pack, e is ObjectNotFoundException ? "is missing from storage" : $"is damaged: {e.Message}");
            }
            long n = Interlocked.Increment(ref done);
            OnProgress?.Invoke($"read {n} of {packs.Count} packs");
        }).ConfigureAwait(false);
        _result.BlobsRead = blobs;
        _result.BytesRead = bytes;
    }

    private async Task CheckSnapshotsAsync(List<string> names, CancellationToken ct)
    {
        var snapshots = new List<Snapshot>();
        foreach (var name in names)
        {
            if (Layout.IdOf(name) is not { } id) continue;
            try { snapshots.Add(await repo.LoadSnapshotAsync(id, ct).ConfigureAwait(false)); }
            catch (ObjectNotFoundException) { /* forgotten while we checked */ }
            catch (StrataException e) { _result.Errors.Add($"snapshot {id.ToShortString()}: {e.Message}"); }
        }
        _result.Snapshots = snapshots.Count;
        var treeVerdicts = new Dictionary<BlobId, List<string>>();
        foreach (var snapshot in snapshots.OrderBy(s => s.Time))
        {
            OnProgress?.Invoke($"checking snapshot {snapshot.Id.ToShortString()}");
            var damaged = new List<string>();
            if (snapshot.Kind is not (null or Snapshot.ImageKind))
            {
                _result.Errors.Add($"snapshot {snapshot.Id.ToShortString()} is of kind '{snapshot.Kind}', unknown to {StrataVersion.Text}: not checked");
                continue;
            }
            if (snapshot.IsImage) await WalkBlockMapAsync(snapshot, damaged, treeVerdicts, ct).ConfigureAwait(false);
            else await WalkAsync(snapshot.Tree, "", damaged, treeVerdicts, ct).ConfigureAwait(false);
            if (damaged.Count > 0)
            {
                _result.AffectedSnapshots.Add(new AffectedSnapshot(snapshot.Id.ToString(), snapshot.Time, snapshot.Hostname,
                    damaged.Take(MaxPathsPerSnapshot).ToList(), damaged.Count));
                _result.Errors.Add($"snapshot {snapshot.Id.ToShortString()} ({snapshot.Time:yyyy-MM-dd HH:mm:ss}, {snapshot.Hostname}) references damaged or missing data in {damaged.Count} path(s), e.g. {damaged[0]}");
            }
        }
    }

    /// <summary>Collects the paths below <paramref name="treeId"/> whose data is damaged; results per tree are memoised.</summary>
    private async Task WalkAsync(BlobId treeId, string path, List<string> damaged, Dictionary<BlobId, List<string>> verdicts, CancellationToken ct)
    {
        if (verdicts.TryGetValue(treeId, out var known))
        {
            foreach (var relative in known) damaged.Add(path + relative);
            return;
        }
        var local = new List<string>();
        var problem = BlobProblem(treeId);
        Tree? tree = null;
        if (problem is null)
        {
            try { tree = await repo.LoadTreeAsync(treeId, ct).ConfigureAwait(false); }
            catch (StrataException e) { problem = e.Message; }
        }
        if (tree is null)
        {
            local.Add($"/ (tree {treeId.ToShortString()} {problem})");
        }
        else
        {
            _result.Trees++;
            foreach (var node in tree.Nodes)
            {
                if (node.IsDirectory && node.Subtree is { } sub)
                {
                    var below = new List<string>();
                    await WalkAsync(sub, "", below, verdicts, ct).ConfigureAwait(false);
                    foreach (var b in below) local.Add("/" + node.Name + b);
                }
                else if (node.Content is { } content)
                {
                    foreach (var id in content)
                    {
                        if (BlobProblem(id) is { } p) { local.Add($"/{node.Name} (blob {id.ToShortString()} {p})"); break; }
                    }
                }
            }
        }
        verdicts[treeId] = local;
        foreach (var relative in local) damaged.Add(path + relative);
    }

    /// <summary>
    /// Image snapshots (FORMAT.md §8a): the block-map root, its segments, every block they name and
    /// the changed-extent list must be indexed in undamaged packs. Damage is named by byte offset.
    /// </summary>
    private async Task WalkBlockMapAsync(Snapshot snapshot, List<string> damaged, Dictionary<BlobId, List<string>> verdicts, CancellationToken ct)
    {
        if (snapshot.Image?.Changes is { } changes && BlobProblem(changes) is { } cp)
            damaged.Add($"changed-extent list (blob {changes.ToShortString()} {cp})");
        if (BlobProblem(snapshot.Tree) is { } rootProblem)
        {
            damaged.Add($"block map (blob {snapshot.Tree.ToShortString()} {rootProblem})");
            return;
        }
        Images.BlockMapFormat.Root root;
        try { root = await Images.BlockMapStore.LoadRootAsync(repo, snapshot.Tree, ct).ConfigureAwait(false); }
        catch (StrataException e)
        {
            damaged.Add($"block map ({e.Message})");
            return;
        }
        for (int s = 0; s < root.Segments.Length; s++)
        {
            var id = root.Segments[s];
            long segmentStart = (long)s * Images.BlockMapFormat.BlocksPerSegment * root.BlockSize;
            if (!verdicts.TryGetValue(id, out var local))
            {
                local = new List<string>();
                if (BlobProblem(id) is { } p) local.Add($"+0 (block-map segment {id.ToShortString()} {p})");
                else
                {
                    try
                    {
                        var bytes = await repo.ReadBlobAsync(id, ct).ConfigureAwait(false);
                        long blocksHere = Math.Min(Images.BlockMapFormat.BlocksPerSegment, (root.ImageSize - segmentStart + root.BlockSize - 1) / root.BlockSize);
                        var blocks = new BlobId[blocksHere];
                        Images.BlockMapFormat.DecodeSegment(bytes, blocks, $"block-map segment {id.ToShortString()}");
                        _result.Trees++;
                        for (int b = 0; b < blocks.Length; b++)
                            if (!blocks[b].IsZero && BlobProblem(blocks[b]) is { } bp) local.Add($"+{(long)b * root.BlockSize} (blob {blocks[b].ToShortString()} {bp})");
                    }
                    catch (StrataException e) { local.Add($"+0 ({e.Message})"); }
                }
                verdicts[id] = local;
            }
            foreach (var relative in local)
            {
                int plus = relative.IndexOf(' ');
                long offset = segmentStart + long.Parse(relative[1..plus], System.Globalization.CultureInfo.InvariantCulture);
                damaged.Add($"offset {offset}{relative[plus..]}");
            }
        }
    }

    private string? BlobProblem(BlobId id)
    {
        if (!repo.Index.TryGet(id, out var location)) return "is not in any index";
        var pack = repo.Index.PackOf(location);
        return _damagedPacks.ContainsKey(pack) ? $"lies in damaged pack {pack.ToShortString()}" : null;
    }

    private void MarkDamaged(BlobId pack, string why)
    {
        if (_damagedPacks.TryAdd(pack, why))
            lock (_result) _result.Errors.Add($"pack {pack.ToShortString()} {why}");
    }
}
