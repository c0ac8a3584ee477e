using Microsoft.Win32.SafeHandles;

namespace Strata.Restore;

/// <summary>
/// Writes data into a new file leaving every all-zero, block-aligned 4 KiB run unwritten, so it
/// stays a hole: sparse files come back sparse and zeros cost no disk writes.
/// Only for files that start out empty (holes read as zeros there).
/// </summary>
internal static class SparseWriter
{
    private const int BlockSize = 4096;

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/>; returns the bytes actually written
    /// and the file offset where the last write ended (-1 when nothing was written).
    /// </summary>
    /// <remarks>Synchronous on purpose: on Linux an async file write is the same blocking pwrite on a
    /// pool thread, plus two thread switches per write; restores already write from several workers.</remarks>
    public static (long Written, long End) Write(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset)
    {
        long written = 0, end = -1;
        int position = 0;
        while (position < data.Length)
        {
            // Block boundaries are aligned to the file, not to the chunk, so holes line up with file-system blocks.
            int blockEnd = (int)Math.Min(data.Length, position + (BlockSize - (offset + position) % BlockSize));
            if (data[position..blockEnd].IndexOfAnyExcept((byte)0) < 0)
            {
                position = blockEnd;
                continue;
            }
            int runStart = position;
            position = blockEnd;
            while (position < data.Length)
            {
                int next = Math.Min(data.Length, position + BlockSize);
                if (data[position..next].IndexOfAnyExcept((byte)0) < 0) break;
                position = next;
            }
            RandomAccess.Write(handle, data[runStart..position], offset + runStart);
            written += position - runStart;
            end = offset + position;
        }
        return (written, end);
    }
}
