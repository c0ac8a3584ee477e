using System.Collections.Concurrent;
using System.Security.Cryptography;
using Strata.Chunking;
using Strata.Errors;
using Strata.Images;
using Strata.Locking;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Replication;

/// <summary>
/// Copies snapshots from one repository to another that has its own keys (and maybe its own
/// chunker), sending only what the target lacks. Every blob is read from the source (decrypted and
/// verified), and stored in the target under the target's keys, unless the target's index already
/// has it. Trees are rewritten with the target's blob ids. When the two chunkers differ (parameters
/// or gear seed: every repository has its own seed unless created with copied chunker parameters),
/// file contents are re-chunked with the target's chunker, so that later backups into the target
/// deduplicate against the copies; otherwise each blob maps to one blob.
///
/// Resumable: packs are indexed as soon as each is stored, and a snapshot is saved only after all
/// it references is indexed (FORMAT.md I1, I2). A copy interrupted at any moment leaves the target
/// consistent, and the next run finds what was sent in the target's index and sends it no more.
/// A snapshot counts as copied when the target has a snapshot whose <c>original</c> is its own.
/// Image snapshots get a new block map with the target's block ids; their changed-extent list goes
/// along when the snapshot it is relative to is in the target too (its copy's id replaces the
/// source's), so incremental restores from the target follow the same chain.
/// </summary>
public sealed class SnapshotCopier
{
    private const int FilesInParallel = 4;
    private readonly Repository.Repository _source;
    private readonly Repository.Repository _target;
    private readonly bool _rechunk;
    private readonly ConcurrentDictionary<BlobId, BlobId> _trees = new();
    private readonly ConcurrentDictionary<BlobId, BlobId> _blobs = new();
    private readonly ConcurrentDictionary<string, List<BlobId>> _contents = new(StringComparer.Ordinal);
    private BlobWriter? _writer;

    public SnapshotCopier(Repository.Repository source, Repository.Repository target)
    {
        if (source.Config.Id == target.Config.Id && source.Backend.Location == target.Backend.Location)
            throw new UsageException("the source and target of a copy are the same repository");
        _source = source;
        _target = target;
        _rechunk = !SameChunker(source.Config.Chunker, target.Config.Chunker);
    }

    public CopyProgress Progress { get; } = new();

    /// <summary>Whether file contents are re-chunked (the chunkers differ).</summary>
    public bool Rechunks => _rechunk;

    private static bool SameChunker(RepositoryConfig.ChunkerConfig a, RepositoryConfig.ChunkerConfig b) =>
        a.Algorithm == b.Algorithm && a.Parameters == b.Parameters && a.GearSeed.AsSpan().SequenceEqual(b.GearSeed);

    /// <summary>The source snapshots the options select, oldest first.</summary>
    public async Task<List<Snapshot>> SelectAsync(CopyOptions options, CancellationToken ct = default)
    {
        List<Snapshot> selected;
        if (options.Snapshots.Count > 0)
        {
            selected = await _source.FindSnapshotsAsync(options.Snapshots, options.Filter, ct).ConfigureAwait(false);
        }
        else
        {
            selected = (await _source.ListSnapshotsAsync(ct).ConfigureAwait(false)).Where(s => options.Filter?.Matches(s) ?? true).ToList();
        }
        if (options.LatestPerHostOnly)
            selected = selected.GroupBy(s => (s.Hostname, string.Join('\0', s.Paths.Order(StringComparer.Ordinal))))
                .Select(g => g.MaxBy(s => s.Time)!).ToList();
        return selected.OrderBy(s => s.Time).ThenBy(s => s.Id).ToList();
    }

    public async Task<CopyResult> CopyAsync(CopyOptions options, CancellationToken ct = default) =>
        await CopyAsync(await SelectAsync(options, ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    /// <summary>Copies these source snapshots, oldest first, but those the target already has.</summary>
    public async Task<CopyResult> CopyAsync(IReadOnlyList<Snapshot> selected, CancellationToken ct = default)
    {
        // Target snapshots by the source snapshot they were copied from: image change lists link to them.
        var copies = new Dictionary<BlobId, BlobId>();
        foreach (var s in await _target.ListSnapshotsAsync(ct).ConfigureAwait(false)) copies.TryAdd(s.Original ?? s.Id, s.Id);
        var present = copies.Keys.ToHashSet();
        var toCopy = selected.Where(s => !present.Contains(s.Original ?? s.Id)).ToList();
        var already = selected.Where(s => present.Contains(s.Original ?? s.Id)).Select(s => s.Id).ToList();
        Progress.SnapshotsToCopy = toCopy.Count;
        var copied = new List<(BlobId, BlobId)>();
        if (toCopy.Count > 0)
        {
            await _source.LoadIndexAsync(ct).ConfigureAwait(false);
            // A writer of the target like a backup: its lease comes before its index is read, so a
            // prune of the target either waits for this copy or was seen by the index load (FORMAT.md §12).
            await using var lease = await Leases.AcquireAsync(_target, Lease.Backup, ct).ConfigureAwait(false);
            await _target.LoadIndexAsync(ct).ConfigureAwait(false);
            await using var writer = new BlobWriter(_target) { IndexEveryPacks = 1 };
            _writer = writer;
            // Image change lists name their parent by source id; a source snapshot may itself be a copy.
            var originals = (await _source.ListSnapshotsAsync(ct).ConfigureAwait(false)).ToDictionary(s => s.Id, s => s.Original ?? s.Id);
            foreach (var snapshot in toCopy)
            {
                var copy = snapshot.IsImage
                    ? await CopyImageAsync(snapshot, parent => originals.TryGetValue(parent, out var o) && copies.TryGetValue(o, out var c) ? c : null, ct).ConfigureAwait(false)
                    : CopyOf(snapshot, await CopyTreeAsync(snapshot.Tree, ct).ConfigureAwait(false));
                // I2: everything the snapshot references is indexed before the snapshot is stored.
                await writer.FlushAsync(ct).ConfigureAwait(false);
                lease.EnsureValid();
                var id = await _target.SaveSnapshotAsync(copy, ct).ConfigureAwait(false);
                copies.TryAdd(snapshot.Original ?? snapshot.Id, id);
                copied.Add((snapshot.Id, id));
                Progress.SetAdded(writer.BlobsAdded, writer.BytesAdded);
                Progress.SnapshotDone();
            }
            _writer = null;
        }
        return new CopyResult(copied, already, _rechunk, Progress.BytesRead, Progress.BlobsAdded, Progress.BytesAdded);
    }

    private static Snapshot CopyOf(Snapshot s, BlobId tree) => new()
    {
        Time = s.Time,
        Tree = tree,
        Paths = [.. s.Paths],
        Hostname = s.Hostname,
        Username = s.Username,
        Uid = s.Uid,
        Gid = s.Gid,
        Tags = s.Tags is null ? null : [.. s.Tags],
        Excludes = s.Excludes is null ? null : [.. s.Excludes],
        Parent = null, // a source id would mean nothing in the target
        Original = s.Original ?? s.Id,
        ProgramVersion = s.ProgramVersion,
        Summary = s.Summary,
    };

    /// <summary>
    /// An image snapshot's copy: every data block stored under the target's id (blocks the run has
    /// seen are not read again), a new block map, and the changed-extent list when
    /// <paramref name="copyOfParent"/> finds the copy of the snapshot it is relative to.
    /// </summary>
    private async Task<Snapshot> CopyImageAsync(Snapshot snapshot, Func<BlobId, BlobId?> copyOfParent, CancellationToken ct)
    {
        var source = await ImageSnapshots.LoadMapAsync(_source, snapshot, ct).ConfigureAwait(false);
        var map = new BlockMap(source.ImageSize, source.BlockSize);
        await Parallel.ForEachAsync(source.Blocks.DataBlocks(), new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = FilesInParallel },
            async (block, token) => map.Blocks[block.Block] = await CopyBlobAsync(block.Id, token).ConfigureAwait(false)).ConfigureAwait(false);
        var copy = CopyOf(snapshot, BlockMapStore.Save(_writer!, map));
        var info = snapshot.Image!;
        var parentCopy = info.ChangedSince is { } parent ? copyOfParent(parent) : null;
        BlobId? changes = null;
        if (parentCopy is not null && info.Changes is { } list)
            changes = _writer!.Save(BlobType.Tree, await _source.ReadBlobAsync(list, ct).ConfigureAwait(false), out _);
        copy.Kind = Snapshot.ImageKind;
        copy.Image = info.WithChanges(changes, changes is null ? null : parentCopy);
        return copy;
    }

    private async Task<BlobId> CopyTreeAsync(BlobId sourceId, CancellationToken ct)
    {
        if (_trees.TryGetValue(sourceId, out var done)) return done;
        // A private copy of the tree: its nodes are rewritten with target ids below.
        var tree = Tree.Deserialize(await _source.ReadBlobAsync(sourceId, ct).ConfigureAwait(false), $"tree {sourceId.ToShortString()}");
        await Parallel.ForEachAsync(tree.Nodes.Where(n => n.IsFile && n.Content is { Count: > 0 }),
            new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = FilesInParallel },
            async (node, token) =>
            {
                node.Content = await CopyContentAsync(node.Content!, token).ConfigureAwait(false);
                Progress.AddFile();
            }).ConfigureAwait(false);
        foreach (var node in tree.Nodes)
            if (node.IsDirectory && node.Subtree is { } subtree)
                node.Subtree = await CopyTreeAsync(subtree, ct).ConfigureAwait(false);
        var id = _writer!.Save(BlobType.Tree, tree.Serialize(), out _);
        _trees[sourceId] = id;
        UpdateProgress();
        return id;
    }

    private async Task<List<BlobId>> CopyContentAsync(List<BlobId> content, CancellationToken ct)
    {
        if (!_rechunk)
        {
            var ids = new List<BlobId>(content.Count);
            foreach (var blob in content) ids.Add(await CopyBlobAsync(blob, ct).ConfigureAwait(false));
            return ids;
        }
        // The same content (a file unchanged between snapshots) is re-chunked only once per run.
        var key = ContentKey(content);
        if (_contents.TryGetValue(key, out var known)) return known;
        var result = new List<BlobId>();
        await using (var stream = new BlobContentStream(_source, content, Progress.AddRead))
        using (var chunker = new StreamChunker(_target.Chunker, stream))
        {
            while (chunker.TryReadChunk(out var chunk))
                result.Add(_writer!.Save(BlobType.Data, chunk.Span, out _));
        }
        _contents[key] = result;
        UpdateProgress();
        return result;
    }

    private async Task<BlobId> CopyBlobAsync(BlobId sourceId, CancellationToken ct)
    {
        if (_blobs.TryGetValue(sourceId, out var known)) return known;
        var plaintext = await _source.ReadBlobAsync(sourceId, ct).ConfigureAwait(false);
        Progress.AddRead(plaintext.Length);
        var id = _writer!.Save(BlobType.Data, plaintext, out _);
        _blobs[sourceId] = id;
        UpdateProgress();
        return id;
    }

    private void UpdateProgress() => Progress.SetAdded(_writer!.BlobsAdded, _writer.BytesAdded);

    private static string ContentKey(List<BlobId> content)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> bytes = stackalloc byte[32];
        foreach (var id in content)
        {
            id.WriteTo(bytes);
            hash.AppendData(bytes);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
