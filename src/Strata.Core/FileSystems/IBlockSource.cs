namespace Strata.FileSystems;

/// <summary>
/// Random-access bytes a file system is read from: a raw disk image file, one partition of it, or
/// a disk-image snapshot in a repository. Contract: <see cref="ReadAsync"/> fills the whole buffer
/// or throws; callers never read past <see cref="Length"/> (<see cref="BlockSourceReads"/> checks
/// that and names what was being read). Implementations must allow concurrent reads.
/// </summary>
public interface IBlockSource
{
    /// <summary>What the source is, for messages: a path, a snapshot id, "partition 2 of …".</summary>
    string Description { get; }

    long Length { get; }

    ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct);
}
