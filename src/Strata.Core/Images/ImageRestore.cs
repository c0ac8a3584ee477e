using System.Diagnostics;
using Strata.Errors;
using Strata.Repository;
using Strata.Restore;
using Strata.Snapshots;
using Strata.Storage;

namespace Strata.Images;

/// <summary>
/// Brings a disk to an image snapshot. A full restore writes every block (a new raw file stays
/// sparse: zero blocks are never written). An incremental restore writes only blocks that may
/// differ: from the stored changed-extent lists between the snapshot the target was last backed
/// up as and the wanted one, plus the target's dirty bitmap since then; or, when the target has
/// no usable bitmap, from hashing the target locally and comparing with the block map (the
/// repository is read only for blocks that differ).
/// </summary>
public sealed class ImageRestore(Repository.Repository repo, Snapshot snapshot, ImageRestoreOptions options)
{
    // Runs in flight: each worker fetches, decrypts and decompresses the blocks of a run of adjacent
    // blocks (up to WriteRunBytes), then waits for its direct write; 8 kept the 16 GiB benchmark
    // disk busier than 4 (16 gained nothing).
    private const int FetchConcurrency = 8;
    private const int WriteRunBytes = 1 << 20;
    private readonly List<string> _notes = new();
    private long _written, _zeroed, _targetRead;

    public ImageProgress Progress { get; } = new();
    public Action<string>? OnNote { get; set; }

    public async Task<ImageRestoreResult> RunAsync(CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        if (!snapshot.IsImage) throw new UsageException($"snapshot {snapshot.Id.ToShortString()} is a file snapshot; use 'strata restore'");
        await repo.LoadIndexAsync(ct).ConfigureAwait(false);
        var map = await ImageSnapshots.LoadMapAsync(repo, snapshot, ct).ConfigureAwait(false);
        var location = ImageLocation.Parse(options.Target);

        string mode;
        BlockSet plan;
        bool freshFile = false;
        IBlockDevice device;
        if (!options.Incremental)
        {
            mode = "full";
            if (location.Kind == ImageLocation.Kinds.Missing)
            {
                device = FileBlockDevice.Create(location.Path!, map.ImageSize);
                freshFile = true;
            }
            else if (location.Kind == ImageLocation.Kinds.Raw)
            {
                throw new UsageException($"{options.Target} already exists: add --incremental to bring it to the snapshot writing only what differs, or remove it for a full restore");
            }
            else
            {
                device = await location.OpenAsync(writable: true, [], ct).ConfigureAwait(false);
            }
            plan = new BlockSet(map.BlockCount);
            plan.AddRange(0, map.BlockCount);
        }
        else
        {
            if (location.Kind == ImageLocation.Kinds.Missing)
                throw new UsageException($"{options.Target} does not exist: an incremental restore updates an existing disk (leave out --incremental for a full restore)");
            var tracked = options.TargetBitmap is null ? null : await TargetBitmapBaseAsync(location, ct).ConfigureAwait(false);
            // One qemu-nbd for both: it exports the bitmaps (read before anything is written) and takes the writes.
            device = await location.OpenAsync(writable: true, tracked?.Bitmaps ?? [], ct).ConfigureAwait(false);
            BlockSet? fromCbt = null;
            try
            {
                if (tracked is not null) fromCbt = await PlanFromCbtAsync((NbdBlockDevice)device, tracked.Base, tracked.Bitmaps, map, ct).ConfigureAwait(false);
            }
            catch
            {
                await device.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            if (fromCbt is not null)
            {
                mode = "incremental-cbt";
                plan = fromCbt;
            }
            else
            {
                mode = "incremental-hash";
                CheckSize(device, map);
                plan = await PlanFromHashesAsync(device, map, ct).ConfigureAwait(false);
            }
        }

        long fetched;
        await using (device)
        {
            CheckSize(device, map);
            Progress.SetTotal(plan.Count * (long)map.BlockSize);
            fetched = await ApplyAsync(device, map, plan, freshFile, ct).ConfigureAwait(false);
            if (device is FileBlockDevice { IsRegularFile: true } file && file.Size != map.ImageSize) file.SetLength(map.ImageSize);
            await device.FlushAsync(ct).ConfigureAwait(false);
        }
        return new ImageRestoreResult(mode, map.ImageSize, fetched, _written, _zeroed, _targetRead, plan.Count, clock.Elapsed, _notes);
    }

    private void CheckSize(IBlockDevice device, BlockMap map)
    {
        if (device.Size < map.ImageSize)
            throw new UsageException($"target {options.Target} holds {device.Size} bytes, less than the image's {map.ImageSize} bytes: refusing to restore onto it");
    }

    // ---- which blocks to write ---------------------------------------------------------------

    private sealed record TrackedTarget(Snapshot Base, List<string> Bitmaps);

    /// <summary>The snapshot the target's bitmap counts from and the bitmaps to read; null (with a note) when that cannot be known.</summary>
    private async Task<TrackedTarget?> TargetBitmapBaseAsync(ImageLocation location, CancellationToken ct)
    {
        string bitmap = options.TargetBitmap!;
        BlobId? baseId;
        var bitmaps = new List<string> { bitmap };
        if (location.Kind == ImageLocation.Kinds.Qcow2)
        {
            var info = await QemuImg.InfoAsync(location.Path!, ct).ConfigureAwait(false);
            var state = info.Bitmap(bitmap);
            if (state is null or { InUse: true } or { Enabled: false })
                return Fallback<TrackedTarget>($"dirty bitmap '{bitmap}' of {options.Target} is {(state is null ? "missing" : state.InUse ? "not saved cleanly" : "disabled")}");
            // A run interrupted mid-rotation leaves writes in the next bitmap: they count too.
            var rotation = new QemuBitmapRotation(location.Path!, bitmap);
            if (info.Bitmap(rotation.NextName) is not null) bitmaps.Add(rotation.NextName);
            baseId = QemuBitmapRotation.CountsFrom(info, bitmap);
            if (baseId is null) return Fallback<TrackedTarget>($"{options.Target} records no Strata backup that dirty bitmap '{bitmap}' counts from");
        }
        else if (location.Kind == ImageLocation.Kinds.Nbd)
        {
            if (options.Base is null) return Fallback<TrackedTarget>("--base SNAPSHOT (the snapshot the NBD export's bitmap counts from) was not given");
            baseId = (await ImageSnapshots.FindAsync(repo, options.Base, null, ct).ConfigureAwait(false)).Id;
        }
        else
        {
            return Fallback<TrackedTarget>($"{options.Target} is a {location.KindName} disk, which has no dirty bitmap");
        }
        try { return new TrackedTarget(await repo.LoadSnapshotAsync(baseId.Value, ct).ConfigureAwait(false), bitmaps); }
        catch (ObjectNotFoundException)
        {
            // Restoring from a copy of the repository (strata copy, replicate): the copy of that snapshot will do.
            var copy = (await repo.ListSnapshotsAsync(ct).ConfigureAwait(false)).FirstOrDefault(s => ImageSnapshots.HoldsSameDiskAs(s, baseId.Value));
            return copy is not null ? new TrackedTarget(copy, bitmaps)
                : Fallback<TrackedTarget>($"the snapshot {baseId.Value.ToShortString()} the target's bitmap counts from is not in the repository");
        }
    }

    /// <summary>The blocks that may differ: stored changes between the base and the wanted snapshot, plus the target's dirty extents.</summary>
    private async Task<BlockSet?> PlanFromCbtAsync(NbdBlockDevice device, Snapshot baseSnapshot, List<string> bitmaps, BlockMap map, CancellationToken ct)
    {
        foreach (var name in bitmaps)
            if (!device.HasDirtyBitmap(name)) return Fallback($"the NBD export has no dirty bitmap '{name}'");
        var plan = await ChangesBetweenAsync(baseSnapshot, map, ct).ConfigureAwait(false);
        if (plan is null) return null;
        foreach (var name in bitmaps)
            foreach (var e in await device.DirtyExtentsAsync(name, ct).ConfigureAwait(false))
            {
                if (e.Offset >= map.ImageSize) break;
                plan.AddBytes(new ImageExtent(e.Offset, Math.Min(e.Length, map.ImageSize - e.Offset)), map.BlockSize);
            }
        return plan;
    }

    /// <summary>
    /// Blocks that differ between <paramref name="from"/> and the wanted snapshot: the union of the
    /// changed-extent lists on the parent chain between them (either may be the newer); when they are
    /// not on one chain, the difference of their block maps.
    /// </summary>
    private async Task<BlockSet?> ChangesBetweenAsync(Snapshot from, BlockMap map, CancellationToken ct)
    {
        var plan = new BlockSet(map.BlockCount);
        if (from.Id == snapshot.Id) return plan;
        foreach (var (newer, older) in new[] { (snapshot, from), (from, snapshot) })
        {
            var chain = await ChainAsync(newer, older.Id, ct).ConfigureAwait(false);
            if (chain is null) continue;
            foreach (var s in chain)
                foreach (var e in (await ImageSnapshots.LoadChangesAsync(repo, s, ct).ConfigureAwait(false))!)
                {
                    if (e.Offset >= map.ImageSize) continue;
                    plan.AddBytes(new ImageExtent(e.Offset, Math.Min(e.Length, map.ImageSize - e.Offset)), map.BlockSize);
                }
            return plan;
        }
        var fromMap = await ImageSnapshots.LoadMapAsync(repo, from, ct).ConfigureAwait(false);
        if (fromMap.BlockSize != map.BlockSize) return Fallback("the two recovery points use different block sizes");
        Note($"snapshots {from.Id.ToShortString()} and {snapshot.Id.ToShortString()} are not on one chain of changed-extent lists: comparing their block maps");
        return map.Difference(fromMap);
    }

    /// <summary>The snapshots from <paramref name="newer"/> back to (not including) <paramref name="olderId"/> along changed_since links, or null.</summary>
    private async Task<List<Snapshot>?> ChainAsync(Snapshot newer, BlobId olderId, CancellationToken ct)
    {
        var chain = new List<Snapshot>();
        var current = newer;
        for (int step = 0; step < 100_000; step++)
        {
            if (current.Id == olderId) return chain;
            if (current.Image?.ChangedSince is not { } parentId || current.Image.Changes is null) return null;
            chain.Add(current);
            try { current = await repo.LoadSnapshotAsync(parentId, ct).ConfigureAwait(false); }
            catch (ObjectNotFoundException) { return null; }
        }
        return null;
    }

    private Task<BlockSet> PlanFromHashesAsync(IBlockDevice device, BlockMap map, CancellationToken ct) =>
        DiskComparer.DifferingBlocksAsync(repo.Key, device, map, n => Interlocked.Add(ref _targetRead, n), ct);

    // ---- writing -------------------------------------------------------------------------------

    /// <summary>Writes the planned blocks; returns the stored bytes fetched from the repository.</summary>
    private async Task<long> ApplyAsync(IBlockDevice device, BlockMap map, BlockSet plan, bool freshFile, CancellationToken ct)
    {
        var dataBlocks = new List<int>();
        long zeroStart = -1, zeroEnd = -1;
        foreach (int b in plan.Blocks())
        {
            if (!map.Blocks[b].IsZero)
            {
                dataBlocks.Add(b);
                continue;
            }
            if (freshFile) continue;
            long start = map.OffsetOf(b), end = start + map.LengthOf(b);
            if (zeroEnd == start) { zeroEnd = end; continue; }
            await FlushZerosAsync().ConfigureAwait(false);
            (zeroStart, zeroEnd) = (start, end);
        }
        await FlushZerosAsync().ConfigureAwait(false);

        var fetcher = new BlobFetcher(repo, FetchConcurrency);
        int runBlocks = Math.Max(1, WriteRunBytes / map.BlockSize);
        var runBuffers = new BufferPool(runBlocks * map.BlockSize, FetchConcurrency);
        await Parallel.ForEachAsync(BlockRun.Split(dataBlocks, runBlocks), new ParallelOptions { MaxDegreeOfParallelism = FetchConcurrency, CancellationToken = ct }, async (run, token) =>
        {
            // Adjacent blocks are gathered and written with one request: a direct write waits for
            // the disk, and one 1 MiB write costs little more than one 64 KiB write.
            var buffer = runBuffers.Rent(run.Count * map.BlockSize);
            try
            {
                int length = 0;
                for (int b = run.First; b < run.First + run.Count; b++)
                {
                    var id = map.Blocks[b];
                    using var blob = await fetcher.FetchAsync(id, token).ConfigureAwait(false);
                    if (blob.Length != map.LengthOf(b))
                        throw new CorruptDataException($"block {b} of snapshot {snapshot.Id.ToShortString()} (blob {id.ToShortString()}) holds {blob.Length} bytes where {map.LengthOf(b)} were expected");
                    blob.Data.Span.CopyTo(buffer.AsSpan(length));
                    length += blob.Length;
                }
                await device.WriteAsync(map.OffsetOf(run.First), buffer.AsMemory(0, length), token).ConfigureAwait(false);
                Interlocked.Add(ref _written, length);
                Progress.Add(length);
            }
            finally
            {
                runBuffers.Return(buffer);
            }
        }).ConfigureAwait(false);
        return fetcher.BytesRead;

        async Task FlushZerosAsync()
        {
            if (zeroStart < 0) return;
            await device.ZeroAsync(zeroStart, zeroEnd - zeroStart, ct).ConfigureAwait(false);
            _zeroed += zeroEnd - zeroStart;
            Progress.Add(zeroEnd - zeroStart);
            zeroStart = zeroEnd = -1;
        }
    }

    private T? Fallback<T>(string why) where T : class
    {
        Note($"{why}: comparing by hashing the target instead");
        return null;
    }

    private BlockSet? Fallback(string why) => Fallback<BlockSet>(why);

    private void Note(string text)
    {
        _notes.Add(text);
        OnNote?.Invoke(text);
    }
}
