namespace Strata.FileSystems.Ext4;

/// <summary>A name in a directory and the inode it links to (names are bytes on disk, decoded as UTF-8 here).</summary>
public readonly record struct Ext4DirectoryEntry(string Name, uint Inode);
