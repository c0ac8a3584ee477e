using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>
/// A regular file of a snapshot as its chunks and where each starts, so a read at
/// any offset finds its first chunk by binary search and fetches only the chunks it covers.
/// </summary>
internal sealed class FileContentMap
{
    private readonly BlobId[] _chunks;
    private readonly long[] _starts;

    public FileContentMap(IReadOnlyList<BlobId> chunks, Func<BlobId, long> lengthOf)
    {
        _chunks = chunks.ToArray();
        _starts = new long[_chunks.Length + 1];
        for (int i = 0; i < _chunks.Length; i++) _starts[i + 1] = _starts[i] + lengthOf(_chunks[i]);
    }

    public long Length => _starts[^1];

    /// <summary>The chunk holding the byte at <paramref name="offset"/> and <paramref name="ahead"/> chunks after it, when the file has one there.</summary>
    public BlobId? ChunkAt(long offset, int ahead = 0)
    {
        if (offset < 0 || offset >= Length) return null;
        int index = Array.BinarySearch(_starts, offset);
        if (index < 0) index = ~index - 1;
        // Zero-length chunks share their start with the next one; the last of equal starts holds the byte.
        while (index + 1 < _chunks.Length && _starts[index + 1] == _starts[index]) index++;
        index += ahead;
        return index < _chunks.Length ? _chunks[index] : null;
    }

    /// <summary>Copies the file's bytes at <paramref name="offset"/> into <paramref name="destination"/>; returns how many (0 at the end).</summary>
    public int Read(Span<byte> destination, long offset, Func<BlobId, byte[]> fetch)
    {
        if (offset < 0 || offset >= Length || destination.IsEmpty) return 0;
        int index = Array.BinarySearch(_starts, offset);
        if (index < 0) index = ~index - 1;
        int copied = 0;
        while (copied < destination.Length && index < _chunks.Length)
        {
            long within = offset + copied - _starts[index];
            int chunkLength = (int)(_starts[index + 1] - _starts[index]);
            if (chunkLength > 0)
            {
                var chunk = fetch(_chunks[index]);
                int n = (int)Math.Min(chunkLength - within, destination.Length - copied);
                chunk.AsSpan((int)within, n).CopyTo(destination[copied..]);
                copied += n;
            }
            index++;
        }
        return copied;
    }
}
