using System.Buffers;
using System.Security.Cryptography;
using Strata.Errors;
using Strata.Locking;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Prune;

/// <summary>
/// Garbage collection in two phases (docs/FORMAT.md, "Garbage collection"), safe while backups run:
/// <list type="number">
/// <item>Mark: find the blobs the snapshots reference; copy the used blobs out of packs that are
/// mostly unused (repack); write a <see cref="GarbageRecord"/> condemning the wholly unused, the
/// repacked and the unindexed packs; then note which writers' leases are live.</item>
/// <item>Sweep: once none of those writers is still running, re-read the snapshots, spare any
/// condemned pack holding a blob that a snapshot now needs and that has no live copy, rewrite the
/// index files that name the other condemned packs, and delete those packs.</item>
/// </list>
/// Every step is idempotent and ordered so that a prune killed at any point leaves a repository
/// that passes <c>check --read-data</c>, and the next prune finishes the work.
/// </summary>
public sealed class Pruner(Repository.Repository repo)
{
    // What the mark phase found, reused by the sweep of the same run when no snapshot came or went meanwhile.
    private HashSet<BlobId>? _markedSnapshots;
    private HashSet<BlobId>? _markedUsed;

    public Action<string>? OnProgress { get; set; }

    public async Task<PruneResult> RunAsync(PruneOptions options, CancellationToken ct = default)
    {
        if (options.MaxUnused is < 0 or > 1) throw new UsageException("--max-unused must be between 0% and 100%");
        var result = new PruneResult();
        if (options.DryRun)
        {
            await MarkAsync(options, result, null, ct).ConfigureAwait(false);
            return result;
        }
        await using var lease = await Leases.AcquireAsync(repo, Lease.Prune, ct).ConfigureAwait(false);
        await SweepAsync(options, result, lease.Id, ct).ConfigureAwait(false);
        await MarkAsync(options, result, lease.Id, ct).ConfigureAwait(false);
        await SweepAsync(options, result, lease.Id, ct).ConfigureAwait(false);
        return result;
    }

    // ---- phase one -------------------------------------------------------------------------

    private async Task MarkAsync(PruneOptions options, PruneResult result, string? ownLease, CancellationToken ct)
    {
        Report("reading the index");
        var pending = await GarbageRecord.ListAsync(repo, ct).ConfigureAwait(false);
        var alreadyCondemned = pending.SelectMany(r => r.Packs).ToHashSet();
        // Snapshots before the index: a snapshot is stored after the index files naming its blobs (I2),
        // so every blob of a listed snapshot is in an index file listed afterwards.
        var snapshots = await repo.ListSnapshotsAsync(ct).ConfigureAwait(false);
        var contents = await RepositoryContents.ReadAsync(repo, ct).ConfigureAwait(false);
        await repo.LoadIndexAsync(ct).ConfigureAwait(false); // for reading trees
        result.Snapshots = snapshots.Count;
        Report($"finding the data {snapshots.Count} snapshots use");
        var used = await ReferenceCollector.CollectAsync(repo, snapshots, n => Report($"finding used data: {n} trees read"), ct).ConfigureAwait(false);
        (_markedSnapshots, _markedUsed) = (snapshots.Select(s => s.Id).ToHashSet(), used);

        // One copy of each used blob is kept: the first live, stored one; other copies are waste.
        var keeper = new Dictionary<BlobId, BlobId>();
        foreach (var id in used)
        {
            BlobId? stored = null, live = null;
            foreach (var p in contents.CopiesOf(id))
            {
                if (!contents.StoredPacks.ContainsKey(p)) continue;
                stored ??= p;
                if (!alreadyCondemned.Contains(p)) { live = p; break; }
            }
            // Only in condemned packs: kept there (a sweep will spare that pack).
            if ((live ?? stored) is { } kept) keeper[id] = kept;
        }
        result.BlobsUsed = keeper.Count;

        var condemned = new List<BlobId>();
        var repack = new List<(BlobId Pack, long Unused)>();
        foreach (var (pack, entries) in contents.IndexedPacks)
        {
            if (!contents.StoredPacks.TryGetValue(pack, out var size))
            {
                result.Warnings.Add($"pack {pack.ToShortString()} is in the index but missing from storage (run 'strata check')");
                continue;
            }
            result.PacksTotal++;
            result.BytesTotal += size;
            // The header counts as used: a pack whose blobs are all needed has nothing to gain from a repack.
            long usedBytes = entries.Where(e => keeper.TryGetValue(e.Id, out var k) && k == pack).Sum(e => (long)e.Length);
            if (usedBytes > 0) usedBytes = Math.Min(size, usedBytes + PackFormat.Overhead(entries.Count));
            result.UsedBytes += usedBytes;
            result.UnusedBytes += size - usedBytes;
            if (alreadyCondemned.Contains(pack)) continue;
            if (usedBytes == 0) condemned.Add(pack);
            else if ((double)(size - usedBytes) / size > options.MaxUnused) repack.Add((pack, size - usedBytes));
        }
        foreach (var (pack, size) in contents.StoredPacks)
        {
            if (contents.IndexedPacks.ContainsKey(pack) || alreadyCondemned.Contains(pack)) continue;
            // Not indexed: left by an interrupted backup, or being written right now; the sweep waits for running writers.
            result.PacksTotal++;
            result.BytesTotal += size;
            result.UnusedBytes += size;
            result.PacksUnindexed++;
            condemned.Add(pack);
        }

        // Repack the most wasteful packs first, within the size limit.
        long budget = options.MaxRepackSize ?? long.MaxValue;
        var chosen = new List<BlobId>();
        foreach (var (pack, _) in repack.OrderByDescending(r => r.Unused))
        {
            long size = contents.StoredPacks[pack];
            if (size > budget) continue;
            budget -= size;
            chosen.Add(pack);
        }
        result.PacksCondemned = condemned.Count + chosen.Count;
        result.BytesCondemned = condemned.Concat(chosen).Sum(p => contents.StoredPacks[p]);
        result.PacksRepacked = chosen.Count;
        if (options.DryRun || result.PacksCondemned == 0) return;

        if (chosen.Count > 0) await RepackAsync(chosen, contents, keeper, result, ct).ConfigureAwait(false);

        // The record is stored before the leases are listed: a writer whose lease is not in the list
        // started after the record existed, and its index load saw the condemnation.
        var record = new GarbageRecord { Id = GarbageRecord.NewId(), Created = DateTimeOffset.UtcNow, Packs = condemned.Concat(chosen).ToList() };
        await record.SaveAsync(repo, ct).ConfigureAwait(false);
        record.Leases = await LiveLeasesAsync(ownLease, result, ct).ConfigureAwait(false);
        await record.SaveAsync(repo, ct).ConfigureAwait(false);
    }

    private async Task RepackAsync(List<BlobId> packs, RepositoryContents contents, Dictionary<BlobId, BlobId> keeper, PruneResult result, CancellationToken ct)
    {
        await using var writer = new BlobWriter(repo);
        // One buffer for every pack read: packs are tens of MiB, and a fresh array for each is pure large-object churn.
        var buffer = GC.AllocateUninitializedArray<byte>((int)packs.Max(p => contents.StoredPacks[p]));
        int done = 0;
        foreach (var pack in packs)
        {
            Report($"repacking {++done} of {packs.Count} packs");
            var name = Layout.Pack(pack);
            var data = buffer.AsMemory(0, (int)contents.StoredPacks[pack]);
            await repo.Backend.ReadAsync(name, 0, data, ct).ConfigureAwait(false);
            if (new BlobId(SHA256.HashData(data.Span)) != pack)
                throw new CorruptDataException($"{name} is damaged (content does not match its name): not repacking it; run 'strata check --read-data'");
            foreach (var e in contents.IndexedPacks[pack])
            {
                if (!keeper.TryGetValue(e.Id, out var k) || k != pack) continue;
                var sealedBlob = data.Slice((int)e.Offset, (int)e.Length);
                VerifyBlob(e, sealedBlob.Span, name);
                writer.StoreSealed(e.Type, e.Id, sealedBlob.Span, e.RawLength);
                result.BlobsRepacked++;
            }
        }
        await writer.FlushAsync(ct).ConfigureAwait(false);
        result.BytesRepackedWritten = writer.BytesAdded;
    }

    /// <summary>A blob is copied only after it decrypts and hashes correctly: repacking must not spread damage.</summary>
    private void VerifyBlob(PackEntry entry, ReadOnlySpan<byte> sealedBlob, string packName)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(sealedBlob.Length);
        var plaintext = ArrayPool<byte>.Shared.Rent((int)entry.RawLength);
        try
        {
            sealedBlob.CopyTo(scratch);
            repo.OpenBlob(entry.Id, scratch.AsSpan(0, sealedBlob.Length), plaintext.AsSpan(0, (int)entry.RawLength), packName);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
            ArrayPool<byte>.Shared.Return(plaintext);
        }
    }

    // ---- phase two -------------------------------------------------------------------------

    private async Task SweepAsync(PruneOptions options, PruneResult result, string ownLease, CancellationToken ct)
    {
        var records = await GarbageRecord.ListAsync(repo, ct).ConfigureAwait(false);
        result.PacksPending = 0;
        result.BytesPending = 0;
        result.PendingOn.Clear();
        if (records.Count == 0) return;
        var leases = await Leases.ListAsync(repo, ct).ConfigureAwait(false);
        var live = leases.Where(l => !l.IsStale && l.Id != ownLease).ToDictionary(l => l.Id);
        foreach (var record in records.Where(r => r.Leases is null))
        {
            // Written by a prune killed before it listed leases: listing them now is as safe, since the record exists.
            record.Leases = live.Keys.ToList();
            await record.SaveAsync(repo, ct).ConfigureAwait(false);
        }
        var now = DateTimeOffset.UtcNow;
        var ready = records.Where(r => r.Leases!.All(id => !live.ContainsKey(id)) && now - r.Created >= options.Grace).ToList();
        foreach (var waiting in records.Except(ready))
            foreach (var id in waiting.Leases!.Where(live.ContainsKey))
                if (!result.PendingOn.Contains(live[id].Lease.ToString())) result.PendingOn.Add(live[id].Lease.ToString());
        if (ready.Count == 0)
        {
            await CountPendingAsync(records, result, ct).ConfigureAwait(false);
            return;
        }

        // Everything below is read after the leases were listed, so it includes every snapshot
        // that the writers the records waited for have saved.
        Report("sweeping condemned packs");
        var snapshots = await repo.ListSnapshotsAsync(ct).ConfigureAwait(false);
        var contents = await RepositoryContents.ReadAsync(repo, ct).ConfigureAwait(false);
        await repo.LoadIndexAsync(ct).ConfigureAwait(false);
        // Snapshots are immutable: the same set references the same blobs, so the mark's result stands.
        var used = _markedUsed is not null && _markedSnapshots!.SetEquals(snapshots.Select(s => s.Id))
            ? _markedUsed
            : await ReferenceCollector.CollectAsync(repo, snapshots, n => Report($"re-reading used data: {n} trees read"), ct).ConfigureAwait(false);
        var condemnedAll = records.SelectMany(r => r.Packs).ToHashSet();
        var deleting = ready.SelectMany(r => r.Packs).ToHashSet();
        bool HasLiveCopy(BlobId blob) => contents.CopiesOf(blob).Any(p => !condemnedAll.Contains(p) && contents.StoredPacks.ContainsKey(p));
        foreach (var pack in deleting.ToList())
        {
            if (contents.IndexedPacks.TryGetValue(pack, out var entries) && entries.Any(e => used.Contains(e.Id) && !HasLiveCopy(e.Id)))
            {
                deleting.Remove(pack);
                result.PacksSpared++;
            }
        }

        // Index first (new files, then the old ones go), packs next, records last: each state in between is consistent.
        var rewritten = contents.IndexFiles.Where(f => f.Value.Packs.Any(p => deleting.Contains(p.Pack))).ToList();
        foreach (var (_, file) in rewritten)
        {
            var kept = new IndexFile();
            kept.Packs.AddRange(file.Packs.Where(p => !deleting.Contains(p.Pack)));
            if (kept.Packs.Count > 0) await repo.SaveIndexAsync(kept, ct).ConfigureAwait(false);
        }
        foreach (var (name, _) in rewritten) await repo.Backend.DeleteAsync(name, ct).ConfigureAwait(false);
        result.IndexFilesRewritten += rewritten.Count;

        int deleted = 0;
        await Parallel.ForEachAsync(deleting, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (pack, token) =>
        {
            await repo.Backend.DeleteAsync(Layout.Pack(pack), token).ConfigureAwait(false);
            Report($"deleted {Interlocked.Increment(ref deleted)} of {deleting.Count} packs");
        }).ConfigureAwait(false);
        result.PacksDeleted += deleting.Count;
        result.BytesDeleted += deleting.Sum(p => contents.StoredPacks.GetValueOrDefault(p));
        foreach (var record in ready) await record.DeleteAsync(repo, ct).ConfigureAwait(false);
        await CountPendingAsync(records.Except(ready).ToList(), result, ct).ConfigureAwait(false);
    }

    private async Task CountPendingAsync(List<GarbageRecord> waiting, PruneResult result, CancellationToken ct)
    {
        if (waiting.Count == 0) return;
        var sizes = await repo.ListPacksAsync(ct).ConfigureAwait(false);
        foreach (var pack in waiting.SelectMany(r => r.Packs).Distinct().Where(sizes.ContainsKey))
        {
            result.PacksPending++;
            result.BytesPending += sizes[pack];
        }
    }

    private async Task<List<string>> LiveLeasesAsync(string? ownLease, PruneResult result, CancellationToken ct)
    {
        var live = new List<string>();
        foreach (var entry in await Leases.ListAsync(repo, ct).ConfigureAwait(false))
        {
            if (entry.Id == ownLease) continue;
            if (!entry.IsStale) { live.Add(entry.Id); continue; }
            // Stale leases block nothing; clearing them keeps the folder small and 'strata unlock' rarely needed.
            await repo.Backend.DeleteAsync(Layout.LocksFolder + entry.Id, ct).ConfigureAwait(false);
            result.StaleLeasesRemoved.Add($"{entry.Lease} ({entry.StaleReason})");
        }
        return live;
    }

    private void Report(string status) => OnProgress?.Invoke(status);
}
