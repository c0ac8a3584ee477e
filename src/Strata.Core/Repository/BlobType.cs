namespace Strata.Repository;

/// <summary>What a blob holds. Stored as one byte in pack headers and index files.</summary>
public enum BlobType : byte
{
    /// <summary>A piece of a file's content (or of a disk image).</summary>
    Data = 0,
    /// <summary>A directory listing: JSON of <see cref="Snapshots.Tree"/>.</summary>
    Tree = 1,
}
