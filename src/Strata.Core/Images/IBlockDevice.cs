namespace Strata.Images;

/// <summary>
/// A disk Strata reads for a backup or writes for a restore: a raw image file or block device
/// (<see cref="FileBlockDevice"/>) or an NBD export, possibly served by a qemu-nbd that Strata
/// started for a qcow2 file (<see cref="NbdBlockDevice"/>).
/// </summary>
public interface IBlockDevice : IAsyncDisposable
{
    /// <summary>What the device is, for messages: a path or an NBD address.</summary>
    string Description { get; }

    long Size { get; }

    /// <summary>How many reads may usefully run at once.</summary>
    int ReadConcurrency { get; }

    /// <summary>
    /// The regions that may hold non-zero data, in order; everything else reads as zeros and need
    /// not be read (SEEK_DATA/SEEK_HOLE for files, base:allocation for NBD exports).
    /// </summary>
    Task<List<ImageExtent>> DataExtentsAsync(CancellationToken ct);

    Task ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct);

    Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct);

    /// <summary>Makes a range read as zeros, deallocating it where the device can (sparse stays sparse).</summary>
    Task ZeroAsync(long offset, long length, CancellationToken ct);

    /// <summary>Makes what was written durable.</summary>
    Task FlushAsync(CancellationToken ct);
}
