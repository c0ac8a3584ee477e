using System.Security.Cryptography;
using Strata.Errors;
using Strata.Locking;
using Strata.Repository;
using Strata.Storage;

namespace Strata.Repair;

/// <summary>
/// <c>strata repair index</c>: rebuilds the index from the packs themselves (each pack ends with
/// its own sealed header). Entries of readable index files are kept for packs that exist; packs no
/// index names have their headers read; with <see cref="ReadAllPacks"/> every pack is read whole,
/// and the intact blobs of a damaged pack are copied into new packs while the damaged pack is left
/// out of the index (not deleted: a later prune removes it once nothing needs it).
/// New index files are written before the old ones are removed, so a repair killed midway loses nothing.
/// </summary>
public sealed class IndexRebuilder(Repository.Repository repo)
{
    private const int PacksPerIndexFile = 2000;

    public bool ReadAllPacks { get; init; }
    public Action<string>? OnProgress { get; set; }

    public async Task<IndexRepairResult> RunAsync(CancellationToken ct = default)
    {
        await using var lease = await Leases.AcquireAsync(repo, Lease.Repair, ct).ConfigureAwait(false);
        var result = new IndexRepairResult();
        var oldFiles = new List<string>();
        var known = new Dictionary<BlobId, List<PackEntry>>();
        await foreach (var obj in repo.Backend.ListAsync(Layout.IndexFolder, ct).ConfigureAwait(false))
        {
            oldFiles.Add(obj.Name);
            try
            {
                foreach (var (pack, entries) in (await repo.LoadIndexFileAsync(obj.Name, ct).ConfigureAwait(false)).Packs)
                    known.TryAdd(pack, entries);
            }
            catch (StrataException e)
            {
                result.Problems.Add($"index file {obj.Name} is unreadable and will be replaced: {e.Message}");
            }
        }
        var stored = await repo.ListPacksAsync(ct).ConfigureAwait(false);
        result.IndexEntriesDropped = known.Keys.Count(p => !stored.ContainsKey(p));
        foreach (var missing in known.Keys.Where(p => !stored.ContainsKey(p)))
            result.Problems.Add($"pack {missing.ToShortString()} is named by the index but missing from storage: its blobs are lost");

        var rebuilt = new List<(BlobId Pack, List<PackEntry> Entries)>();
        int done = 0;
        await using (var salvage = new BlobWriter(repo))
        {
            foreach (var (pack, size) in stored)
            {
                OnProgress?.Invoke($"packs examined: {++done} of {stored.Count}");
                known.TryGetValue(pack, out var indexed);
                if (indexed is not null && !ReadAllPacks) { rebuilt.Add((pack, indexed)); continue; }
                var name = Layout.Pack(pack);
                result.PacksRead++;
                if (!ReadAllPacks)
                {
                    try
                    {
                        rebuilt.Add((pack, await PackFormat.ReadHeaderAsync(repo.Backend, repo.Key.Cipher, name, size, ct).ConfigureAwait(false)));
                        result.PacksAdded++;
                        continue;
                    }
                    catch (StrataException e) when (e is not ObjectNotFoundException)
                    {
                        // fall through: read it whole and keep what can be proven intact
                        result.Problems.Add($"pack {pack.ToShortString()}: {e.Message}");
                    }
                }
                byte[] data;
                try { data = await repo.Backend.GetAsync(name, ct: ct).ConfigureAwait(false); }
                catch (ObjectNotFoundException) { continue; } // removed by a prune that finished meanwhile
                if (new BlobId(SHA256.HashData(data)) == pack)
                {
                    rebuilt.Add((pack, PackFormat.ReadHeader(repo.Key.Cipher, data, name)));
                    if (indexed is null) result.PacksAdded++;
                    continue;
                }
                Salvage(pack, data, indexed, salvage, result);
            }
            await salvage.FlushAsync(ct).ConfigureAwait(false);
        }

        // New index files first; then the old ones (their newest content is in the new files, or was unreadable).
        var written = new HashSet<string>();
        foreach (var group in rebuilt.Chunk(PacksPerIndexFile))
        {
            var file = new IndexFile();
            file.Packs.AddRange(group);
            written.Add(await repo.SaveIndexAsync(file, ct).ConfigureAwait(false));
        }
        foreach (var name in oldFiles.Where(n => !written.Contains(n))) await repo.Backend.DeleteAsync(name, ct).ConfigureAwait(false);
        result.IndexFilesWritten = written.Count;
        result.IndexFilesRemoved = oldFiles.Count;
        result.Packs = rebuilt.Count;
        result.Blobs = rebuilt.Sum(p => (long)p.Entries.Count);
        return result;
    }

    /// <summary>Copies every blob of a damaged pack that still decrypts and hashes correctly into new packs.</summary>
    private void Salvage(BlobId pack, byte[] data, List<PackEntry>? indexed, BlobWriter salvage, IndexRepairResult result)
    {
        var name = Layout.Pack(pack);
        List<PackEntry> entries;
        try { entries = PackFormat.ReadHeader(repo.Key.Cipher, data, name); }
        catch (StrataException) { entries = indexed ?? []; } // header damaged: the old index still says where the blobs were
        int saved = 0, lost = 0;
        foreach (var e in entries)
        {
            if (e.Offset + (long)e.Length > data.Length) { lost++; continue; }
            var copy = data.AsSpan((int)e.Offset, (int)e.Length).ToArray();
            var plaintext = new byte[e.RawLength];
            try { repo.OpenBlob(e.Id, copy, plaintext, name); }
            catch (StrataException) { lost++; continue; }
            salvage.StoreSealed(e.Type, e.Id, data.AsSpan((int)e.Offset, (int)e.Length), e.RawLength);
            saved++;
        }
        result.PacksDamaged++;
        result.BlobsSalvaged += saved;
        result.BlobsLost += lost;
        result.Problems.Add($"pack {pack.ToShortString()} is damaged: {saved} intact blobs copied to new packs, {lost} lost" +
                            (entries.Count == 0 ? " (its header is unreadable and no index described it)" : "") + "; the pack is left out of the index");
    }
}

public sealed class IndexRepairResult
{
    public int Packs { get; set; }
    public long Blobs { get; set; }
    public int PacksRead { get; set; }
    public int PacksAdded { get; set; }
    public int PacksDamaged { get; set; }
    public long BlobsSalvaged { get; set; }
    public long BlobsLost { get; set; }
    public int IndexEntriesDropped { get; set; }
    public int IndexFilesWritten { get; set; }
    public int IndexFilesRemoved { get; set; }
    public List<string> Problems { get; } = new();
}
