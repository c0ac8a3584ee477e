namespace Strata.Platform;

/// <summary>
/// The parts of a buffer worth writing into a file that starts out empty: runs of 4 KiB blocks,
/// aligned to the file (not to the buffer), that hold a non-zero byte. All-zero blocks left
/// unwritten stay holes, so sparse files come back sparse and zeros cost no disk writes.
/// </summary>
internal static class DataRuns
{
    public const int BlockSize = 4096;

    /// <summary>
    /// The next run at or after <paramref name="position"/> in <paramref name="data"/>, which lies at
    /// <paramref name="fileOffset"/> in the file: [Start, End), empty (Start == End == data.Length) when only zero blocks are left.
    /// </summary>
    public static (int Start, int End) Next(ReadOnlySpan<byte> data, long fileOffset, int position)
    {
        while (position < data.Length && IsZero(data, fileOffset, position, out int blockEnd)) position = blockEnd;
        int start = position;
        while (position < data.Length && !IsZero(data, fileOffset, position, out int blockEnd)) position = blockEnd;
        return (start, position);
    }

    private static bool IsZero(ReadOnlySpan<byte> data, long fileOffset, int position, out int blockEnd)
    {
        blockEnd = (int)Math.Min(data.Length, position + (BlockSize - (fileOffset + position) % BlockSize));
        return data[position..blockEnd].IndexOfAnyExcept((byte)0) < 0;
    }
}
