using Microsoft.Win32.SafeHandles;
using Strata.Chunking;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Restore;

/// <summary>
/// Brings an existing file to a snapshot's version while moving as little as possible. The
/// existing file is chunked with the repository's own chunker, so chunks that did not change
/// have the same ids. Chunks already in place are left alone; the rest come from elsewhere in
/// the old file when it has them (an insertion shifts content), else from the repository.
/// In place when only in-place chunks are reused, else into a new file renamed over the old one.
/// </summary>
internal static class DeltaFileWriter
{
    private readonly record struct LocalChunk(long Offset, int Length);

    /// <param name="allowInPlace">
    /// False when the file has other names (hard links, perhaps outside the target): then it is rebuilt
    /// beside the old one and renamed over it, so that only this name gets the new content.
    /// </param>
    public static async Task<bool> TryUpdateAsync(Repository.Repository repo, BlobFetcher fetcher, string path, Node node,
        bool allowInPlace, Action<long> addWritten, CancellationToken ct)
    {
        var content = node.Content ?? [];
        var local = IndexLocalChunks(repo, path);

        // Where each snapshot chunk belongs, and whether the old file already has it there.
        var wanted = new List<(BlobId Id, long Offset, int Length)>(content.Count);
        long offset = 0;
        bool inPlaceOnly = true;
        foreach (var id in content)
        {
            int length = fetcher.LengthOf(id);
            wanted.Add((id, offset, length));
            if (local.TryGetValue(id, out var at) && at.Offset != offset) inPlaceOnly = false;
            offset += length;
        }

        // A read-only file (mode 0444 restored from the snapshot) cannot be opened for writing by its
        // non-root owner; renaming a new file over it only needs the folder to be writable.
        if (inPlaceOnly && allowInPlace && TryOpenForWriting(path) is { } handle)
        {
            using var _ = handle;
            foreach (var (id, at, length) in wanted)
            {
                if (local.TryGetValue(id, out var existing) && existing.Offset == at) continue;
                using var blob = await fetcher.FetchAsync(id, ct).ConfigureAwait(false);
                await RandomAccess.WriteAsync(handle, blob.Data, at, ct).ConfigureAwait(false);
                addWritten(blob.Length);
            }
            RandomAccess.SetLength(handle, offset);
            return true;
        }

        var temp = $"{path}.strata-{Guid.NewGuid():N}.tmp";
        try
        {
            using (var source = File.OpenHandle(path, FileMode.Open, FileAccess.Read))
            using (var output = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write))
            {
                foreach (var (id, at, length) in wanted)
                {
                    if (local.TryGetValue(id, out var existing))
                    {
                        // Copied from the old file, but only if it still hashes to the id (the file may have changed since it was chunked).
                        var data = new byte[existing.Length];
                        RandomAccess.Read(source, data, existing.Offset);
                        if (repo.Key.ComputeBlobId(data) == id)
                        {
                            addWritten(SparseWriter.Write(output, data, at).Written);
                            continue;
                        }
                    }
                    using var blob = await fetcher.FetchAsync(id, ct).ConfigureAwait(false);
                    addWritten(SparseWriter.Write(output, blob.Data.Span, at).Written);
                }
                RandomAccess.SetLength(output, offset);
            }
            File.Move(temp, path, overwrite: true);
            return true;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static SafeFileHandle? TryOpenForWriting(string path)
    {
        try { return File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite); }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static Dictionary<BlobId, LocalChunk> IndexLocalChunks(Repository.Repository repo, string path)
    {
        var chunks = new Dictionary<BlobId, LocalChunk>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        using var chunker = new StreamChunker(repo.Chunker, stream);
        long offset = 0;
        while (chunker.TryReadChunk(out var chunk))
        {
            chunks.TryAdd(repo.Key.ComputeBlobId(chunk.Span), new LocalChunk(offset, chunk.Length));
            offset += chunk.Length;
        }
        return chunks;
    }
}
