namespace Strata.FileSystems;

public enum PartitionScheme
{
    /// <summary>No partition table: the file system (if any) starts at byte 0.</summary>
    None,
    Mbr,
    Gpt,
}
