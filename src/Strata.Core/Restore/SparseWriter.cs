using Microsoft.Win32.SafeHandles;
using Strata.Platform;

namespace Strata.Restore;

/// <summary>
/// Writes data into a new file leaving every all-zero, block-aligned 4 KiB run unwritten, so it
/// stays a hole: sparse files come back sparse and zeros cost no disk writes.
/// Only for files that start out empty (holes read as zeros there).
/// </summary>
internal static class SparseWriter
{
    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/>; returns the bytes actually written
    /// and the file offset where the last write ended (-1 when nothing was written).
    /// </summary>
    /// <remarks>Synchronous on purpose: on Linux an async file write is the same blocking pwrite on a
    /// pool thread, plus two thread switches per write; restores already write from several workers.</remarks>
    public static (long Written, long End) Write(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset)
    {
        long written = 0, end = -1;
        for (var (start, stop) = DataRuns.Next(data, offset, 0); start < stop; (start, stop) = DataRuns.Next(data, offset, stop))
        {
            RandomAccess.Write(handle, data[start..stop], offset + start);
            written += stop - start;
            end = offset + stop;
        }
        return (written, end);
    }
}
