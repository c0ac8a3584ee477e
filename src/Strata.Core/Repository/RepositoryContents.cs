using Strata.Storage;

namespace Strata.Repository;

/// <summary>
/// One consistent reading of what a repository holds, for maintenance (prune, repair): every
/// index file with its entries, every stored pack with its size, and where each blob has copies.
/// Listed in this order — index files, then packs — so a pack an index names is seen as stored
/// unless it is really gone.
/// </summary>
public sealed class RepositoryContents
{
    public Dictionary<string, IndexFile> IndexFiles { get; } = new();
    public Dictionary<BlobId, long> StoredPacks { get; private set; } = new();
    /// <summary>Each indexed pack's entries (from the first index file that names it).</summary>
    public Dictionary<BlobId, List<PackEntry>> IndexedPacks { get; } = new();
    /// <summary>The first pack found holding each blob; <see cref="ExtraCopies"/> has the others (rare: concurrent writers, repacks).</summary>
    private Dictionary<BlobId, BlobId> FirstCopy { get; } = new();
    private Dictionary<BlobId, List<BlobId>> ExtraCopies { get; } = new();

    /// <summary>Every pack that holds a copy of <paramref name="blob"/>, first found first.</summary>
    public IEnumerable<BlobId> CopiesOf(BlobId blob)
    {
        if (!FirstCopy.TryGetValue(blob, out var first)) yield break;
        yield return first;
        if (ExtraCopies.TryGetValue(blob, out var more))
            foreach (var pack in more) yield return pack;
    }

    public static async Task<RepositoryContents> ReadAsync(Repository repo, CancellationToken ct = default)
    {
        var contents = new RepositoryContents();
        var names = new List<string>();
        await foreach (var obj in repo.Backend.ListAsync(Layout.IndexFolder, ct).ConfigureAwait(false)) names.Add(obj.Name);
        var files = new IndexFile[names.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, names.Count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct },
            async (i, token) => files[i] = await repo.LoadIndexFileAsync(names[i], token).ConfigureAwait(false)).ConfigureAwait(false);
        for (int i = 0; i < names.Count; i++)
        {
            contents.IndexFiles[names[i]] = files[i];
            foreach (var (pack, entries) in files[i].Packs)
            {
                if (!contents.IndexedPacks.TryAdd(pack, entries)) continue;
                foreach (var e in entries)
                {
                    if (contents.FirstCopy.TryAdd(e.Id, pack)) continue;
                    if (!contents.ExtraCopies.TryGetValue(e.Id, out var more)) contents.ExtraCopies[e.Id] = more = new List<BlobId>(1);
                    more.Add(pack);
                }
            }
        }
        contents.StoredPacks = await repo.ListPacksAsync(ct).ConfigureAwait(false);
        return contents;
    }
}
