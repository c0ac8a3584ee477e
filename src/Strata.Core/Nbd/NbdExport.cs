namespace Strata.Nbd;

/// <summary>
/// A disk the <see cref="NbdServer"/> serves: a recovery point with an optional copy-on-write
/// overlay (<see cref="SnapshotExport"/>), or a target being restored live (<see cref="LiveRestoreExport"/>).
/// Requests from all connections may arrive at once; implementations keep each block consistent.
/// </summary>
public abstract class NbdExport : IDisposable
{
    /// <summary>The export's name (the snapshot id); the empty name selects it too.</summary>
    public abstract string Name { get; }
    public abstract long Size { get; }
    public abstract bool IsWritable { get; }

    /// <summary>Granularity of <see cref="AllocationFlags"/> and the preferred request size.</summary>
    public abstract int BlockSize { get; }

    public bool Answers(string exportName) => exportName.Length == 0 || exportName == Name;

    /// <summary>Whether [offset, +length) reads as zeros without reading anything (a structured reply may send it as a hole).</summary>
    public abstract bool IsHole(long offset, int length);

    /// <summary>base:allocation flags (hole, zero) of one block.</summary>
    public abstract uint AllocationFlags(int block);

    public abstract Task ReadAsync(long offset, Memory<byte> destination, CancellationToken ct);

    /// <summary>Writes <paramref name="data"/>, or <paramref name="length"/> zeros when it is null.</summary>
    public abstract Task WriteAsync(long offset, ReadOnlyMemory<byte>? data, long length, CancellationToken ct);

    /// <summary>NBD_CMD_TRIM: advisory, the range's content becomes unspecified.</summary>
    public abstract Task TrimAsync(long offset, long length, CancellationToken ct);

    public abstract void Flush();

    public abstract void Dispose();
}
