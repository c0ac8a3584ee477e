namespace Strata.Images;

public sealed record ImageRestoreOptions
{
    /// <summary>A raw image file (created when missing), a block device, an existing qcow2 file, or an NBD address.</summary>
    public required string Target { get; init; }
    /// <summary>The target already holds another state of the disk: write only the blocks that differ.</summary>
    public bool Incremental { get; init; }
    /// <summary>The target's qemu dirty bitmap (changes since the snapshot it was last backed up as); null: hash the target.</summary>
    public string? TargetBitmap { get; init; }
    /// <summary>For NBD targets with a bitmap: the snapshot the target's bitmap counts from (qcow2 files record it themselves).</summary>
    public string? Base { get; init; }
}
