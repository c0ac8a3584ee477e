namespace Strata.Images;

public sealed record ImageBackupOptions
{
    /// <summary>A raw image file, a block device, a qcow2 file, or an NBD address.</summary>
    public required string Source { get; init; }
    /// <summary>Groups the recovery points of one disk; default: the source's absolute path or address.</summary>
    public string? Name { get; init; }
    public string Host { get; init; } = Environment.MachineName;
    /// <summary>Null: the parent's block size, or <see cref="BlockMap.DefaultBlockSize"/>.</summary>
    public int? BlockSize { get; init; }
    /// <summary>Name of a qemu persistent dirty bitmap to use for changed-block tracking (--cbt qemu-bitmap:NAME).</summary>
    public string? CbtBitmap { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
}
