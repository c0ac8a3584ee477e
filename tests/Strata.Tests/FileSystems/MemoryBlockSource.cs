using Strata.FileSystems;

namespace Strata.Tests.FileSystems;

/// <summary>An image held in memory, so a test can damage and repair it many times without copying files.</summary>
internal sealed class MemoryBlockSource(byte[] image) : IBlockSource
{
    public string Description => "memory image";

    public long Length => image.Length;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        image.AsSpan(checked((int)offset), buffer.Length).CopyTo(buffer.Span);
        return ValueTask.CompletedTask;
    }
}
