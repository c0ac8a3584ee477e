namespace Strata.FileSystems;

/// <summary>Reads that first check the range, so on-disk offsets from a damaged image fail with a message naming what was read.</summary>
public static class BlockSourceReads
{
    public static void CheckRange(IBlockSource source, long offset, long length, string what)
    {
        if (offset < 0 || length < 0 || offset > source.Length || length > source.Length - offset)
            throw new CorruptFileSystemException($"{source.Description}: {what} at byte {offset} (+{length}) lies beyond the end ({source.Length} bytes); truncated or damaged image");
    }

    public static ValueTask ReadCheckedAsync(this IBlockSource source, long offset, Memory<byte> buffer, string what, CancellationToken ct)
    {
        CheckRange(source, offset, buffer.Length, what);
        return source.ReadAsync(offset, buffer, ct);
    }
}
