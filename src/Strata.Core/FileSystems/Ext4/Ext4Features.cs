namespace Strata.FileSystems.Ext4;

/// <summary>Feature flags from the superblock that change how the file system is read (Linux fs/ext4/ext4.h).</summary>
[Flags]
public enum Ext4Incompat : uint
{
    Compression = 0x1,
    FileType = 0x2,
    Recover = 0x4,
    JournalDevice = 0x8,
    MetaBg = 0x10,
    Extents = 0x40,
    Is64Bit = 0x80,
    Mmp = 0x100,
    FlexBg = 0x200,
    EaInode = 0x400,
    DirData = 0x1000,
    CsumSeed = 0x2000,
    LargeDir = 0x4000,
    InlineData = 0x8000,
    Encrypt = 0x10000,
    Casefold = 0x20000,

    /// <summary>What this reader understands; a file system with any other incompatible feature is refused.</summary>
    Supported = FileType | Recover | MetaBg | Extents | Is64Bit | Mmp | FlexBg | EaInode | CsumSeed | LargeDir | InlineData | Encrypt | Casefold,
}

[Flags]
public enum Ext4RoCompat : uint
{
    SparseSuper = 0x1,
    LargeFile = 0x2,
    HugeFile = 0x8,
    GdtCsum = 0x10,
    DirNlink = 0x20,
    ExtraIsize = 0x40,
    Quota = 0x100,
    BigAlloc = 0x200,
    MetadataCsum = 0x400,
}

/// <summary>Inode flags (i_flags) the reader acts on.</summary>
[Flags]
public enum Ext4InodeFlags : uint
{
    Encrypted = 0x800,
    HashIndexed = 0x1000,
    Extents = 0x80000,
    EaInode = 0x200000,
    InlineData = 0x10000000,
}
