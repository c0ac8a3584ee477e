namespace Strata.FileSystems;

/// <summary>A window of another source, e.g. one partition of a disk; reads outside it are refused.</summary>
public sealed class BlockSourceSlice : IBlockSource
{
    private readonly IBlockSource _inner;
    private readonly long _start;

    public BlockSourceSlice(IBlockSource inner, long start, long length, string description)
    {
        if (start < 0 || length < 0 || start > inner.Length || length > inner.Length - start)
            throw new CorruptFileSystemException($"{description} (bytes {start} to {start + length}) lies outside {inner.Description} ({inner.Length} bytes)");
        _inner = inner;
        _start = start;
        Length = length;
        Description = description;
    }

    public string Description { get; }

    public long Length { get; }

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        BlockSourceReads.CheckRange(this, offset, buffer.Length, "data");
        return _inner.ReadAsync(_start + offset, buffer, ct);
    }
}
