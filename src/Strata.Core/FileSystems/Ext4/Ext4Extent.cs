namespace Strata.FileSystems.Ext4;

/// <summary>
/// A run of a file's blocks: <see cref="Length"/> blocks from file block <see cref="LogicalBlock"/>
/// stored from volume block <see cref="PhysicalBlock"/>. Unwritten (preallocated) runs read as zeros.
/// </summary>
public readonly record struct Ext4Extent(uint LogicalBlock, ulong PhysicalBlock, uint Length, bool Unwritten)
{
    public ulong EndLogicalBlock => (ulong)LogicalBlock + Length;
}
