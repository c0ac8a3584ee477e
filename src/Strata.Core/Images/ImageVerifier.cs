using Strata.Errors;
using Strata.Repository;
using Strata.Restore;

namespace Strata.Images;

/// <summary>Reads back every distinct data block of a block map from the repository, checking each against its id.</summary>
public static class ImageVerifier
{
    public sealed record Result(long BlocksVerified, long BytesFetched, IReadOnlyList<string> Damaged);

    public static async Task<Result> VerifyStoredAsync(Repository.Repository repo, BlockMap map, CancellationToken ct)
    {
        var distinct = new Dictionary<BlobId, int>();
        for (int b = 0; b < map.BlockCount; b++)
            if (!map.Blocks[b].IsZero) distinct.TryAdd(map.Blocks[b], b);
        var fetcher = new BlobFetcher(repo, 4);
        var damaged = new List<string>();
        long verified = 0;
        await Parallel.ForEachAsync(distinct, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (entry, token) =>
        {
            try
            {
                using var blob = await fetcher.FetchAsync(entry.Key, token).ConfigureAwait(false);
                if (blob.Length != map.LengthOf(entry.Value)) throw new CorruptDataException($"holds {blob.Length} bytes, expected {map.LengthOf(entry.Value)}");
                Interlocked.Increment(ref verified);
            }
            catch (StrataException e)
            {
                lock (damaged) damaged.Add($"block {entry.Value} at offset {map.OffsetOf(entry.Value)} (blob {entry.Key.ToShortString()}): {e.Message}");
            }
        }).ConfigureAwait(false);
        return new Result(verified, fetcher.BytesRead, damaged);
    }
}
