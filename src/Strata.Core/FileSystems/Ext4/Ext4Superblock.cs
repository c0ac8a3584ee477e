using System.Buffers.Binary;
using System.Text;

namespace Strata.FileSystems.Ext4;

/// <summary>
/// The fields of the ext4 superblock (1024 bytes at byte 1024) this reader needs, each checked for
/// sense against the others and against the size of the volume, so that later arithmetic on them
/// can neither overflow nor point outside the volume.
/// </summary>
public sealed class Ext4Superblock
{
    public const int Offset = 1024;
    public const int Size = 1024;
    public const ushort Magic = 0xEF53;

    private Ext4Superblock() { }

    public uint InodesCount { get; private init; }
    public ulong BlocksCount { get; private init; }
    public uint FirstDataBlock { get; private init; }
    public int BlockSize { get; private init; }
    public uint BlocksPerGroup { get; private init; }
    public uint InodesPerGroup { get; private init; }
    public int InodeSize { get; private init; }
    public int DescriptorSize { get; private init; }
    public uint FirstMetaBg { get; private init; }
    public uint GroupCount { get; private init; }
    public Ext4Incompat Incompat { get; private init; }
    public uint Compat { get; private init; }
    public uint BackupGroup1 { get; private init; }
    public uint BackupGroup2 { get; private init; }
    public Ext4RoCompat RoCompat { get; private init; }
    public Guid Uuid { get; private init; }
    public string VolumeName { get; private init; } = "";
    public uint LastMountTime { get; private init; }

    /// <summary>Seed of every metadata checksum: the stored one (csum_seed feature) or CRC-32C of the UUID.</summary>
    public uint ChecksumSeed { get; private init; }

    public bool HasMetadataChecksums => (RoCompat & Ext4RoCompat.MetadataCsum) != 0;
    public bool Has(Ext4Incompat feature) => (Incompat & feature) != 0;

    /// <summary>Whether block group <paramref name="group"/> starts with a superblock backup (and so, without meta_bg, a copy of the descriptors).</summary>
    public bool GroupHasSuperblock(ulong group)
    {
        const uint SparseSuper2 = 0x200;
        if (group == 0) return true;
        if ((Compat & SparseSuper2) != 0) return group == BackupGroup1 || group == BackupGroup2;
        if (group == 1 || (RoCompat & Ext4RoCompat.SparseSuper) == 0) return true;
        if (group % 2 == 0) return false;
        return IsPowerOf(group, 3) || IsPowerOf(group, 5) || IsPowerOf(group, 7);

        static bool IsPowerOf(ulong n, ulong b)
        {
            while (n % b == 0) n /= b;
            return n == 1;
        }
    }

    /// <summary>The journal holds changes not yet written to their places (the image was taken from a running or crashed system).</summary>
    public bool NeedsRecovery => Has(Ext4Incompat.Recover);

    /// <summary>Parses and validates a superblock read from a volume of <paramref name="volumeLength"/> bytes.</summary>
    public static Ext4Superblock Parse(ReadOnlySpan<byte> sb, long volumeLength, string where)
    {
        if (sb.Length < Size) throw new ArgumentException("a superblock is 1024 bytes", nameof(sb));
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(sb[0x38..]);
        if (magic != Magic) throw new CorruptFileSystemException($"{where}: no ext2/3/4 file system (superblock magic 0x{magic:x4}, expected 0x{Magic:x4})");
        string Bad(string what) => $"{where}: damaged ext4 superblock: {what}";

        var roCompat = (Ext4RoCompat)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x64..]);
        bool csum = (roCompat & Ext4RoCompat.MetadataCsum) != 0;
        if (csum)
        {
            if (sb[0x175] != 1) throw new CorruptFileSystemException(Bad($"checksum type {sb[0x175]} (only 1, CRC-32C, exists)"));
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x3FC..]);
            uint computed = Checksums.Crc32C(~0u, sb[..0x3FC]);
            if (stored != computed) throw new CorruptFileSystemException(Bad($"checksum 0x{computed:x8} does not match the stored 0x{stored:x8}"));
        }

        var incompat = (Ext4Incompat)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x60..]);
        var unknown = incompat & ~Ext4Incompat.Supported;
        if (unknown != 0)
            throw new UnsupportedFileSystemException($"{where}: the ext4 file system uses incompatible features this reader does not know ({unknown}, flags 0x{(uint)unknown:x})");

        uint logBlock = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x18..]);
        if (logBlock > 6) throw new CorruptFileSystemException(Bad($"block size 2^{10 + (long)logBlock} is above 64 KiB"));
        int blockSize = 1024 << (int)logBlock;
        uint inodesCount = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x0..]);
        ulong blocksCount = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x4..]);
        bool is64 = (incompat & Ext4Incompat.Is64Bit) != 0;
        if (is64) blocksCount |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x150..]) << 32;
        uint firstDataBlock = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x14..]);
        uint blocksPerGroup = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x20..]);
        uint inodesPerGroup = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x28..]);
        uint revision = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x4C..]);
        int inodeSize = revision == 0 ? 128 : BinaryPrimitives.ReadUInt16LittleEndian(sb[0x58..]);
        int descSize = is64 ? BinaryPrimitives.ReadUInt16LittleEndian(sb[0xFE..]) : 32;

        // 1 with 1 KiB blocks (the superblock is block 1), else 0; bigalloc makes it 0 for 1 KiB blocks too.
        if (firstDataBlock > (blockSize == 1024 ? 1u : 0u)) throw new CorruptFileSystemException(Bad($"first data block {firstDataBlock} with {blockSize}-byte blocks"));
        uint blocksPerCluster = 1;
        if ((roCompat & Ext4RoCompat.BigAlloc) != 0)
        {
            uint logCluster = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x1C..]);
            if (logCluster < logBlock || logCluster - logBlock > 16) throw new CorruptFileSystemException(Bad($"cluster size 2^{10 + (long)logCluster} with {blockSize}-byte blocks"));
            blocksPerCluster = 1u << (int)(logCluster - logBlock);
        }
        if (blocksCount <= firstDataBlock) throw new CorruptFileSystemException(Bad($"{blocksCount} blocks"));
        if (blocksCount > (ulong)(volumeLength / blockSize))
            throw new CorruptFileSystemException($"{where}: the ext4 file system has {blocksCount} blocks of {blockSize} bytes ({blocksCount * (ulong)blockSize} bytes) but its volume holds only {volumeLength} bytes; truncated image?");
        if (blocksPerGroup == 0 || blocksPerGroup > 8UL * (ulong)blockSize * blocksPerCluster) throw new CorruptFileSystemException(Bad($"{blocksPerGroup} blocks per group"));
        if (inodesPerGroup == 0 || inodesPerGroup > 8u * blockSize) throw new CorruptFileSystemException(Bad($"{inodesPerGroup} inodes per group"));
        if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) != 0) throw new CorruptFileSystemException(Bad($"inode size {inodeSize}"));
        if (is64 && (descSize < 64 || descSize > 1024 || (descSize & (descSize - 1)) != 0)) throw new CorruptFileSystemException(Bad($"group descriptor size {descSize}"));
        ulong groups = (blocksCount - firstDataBlock + blocksPerGroup - 1) / blocksPerGroup;
        if (groups * inodesPerGroup != inodesCount)
            throw new CorruptFileSystemException(Bad($"{inodesCount} inodes do not match {groups} groups of {inodesPerGroup}"));

        var uuid = sb.Slice(0x68, 16);
        uint seed = (incompat & Ext4Incompat.CsumSeed) != 0 ? BinaryPrimitives.ReadUInt32LittleEndian(sb[0x270..]) : Checksums.Crc32C(~0u, uuid);
        var name = sb.Slice(0x78, 16);
        int nul = name.IndexOf((byte)0);
        return new Ext4Superblock
        {
            InodesCount = inodesCount,
            BlocksCount = blocksCount,
            FirstDataBlock = firstDataBlock,
            BlockSize = blockSize,
            BlocksPerGroup = blocksPerGroup,
            InodesPerGroup = inodesPerGroup,
            InodeSize = inodeSize,
            DescriptorSize = descSize,
            FirstMetaBg = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x104..]),
            GroupCount = (uint)groups,
            Incompat = incompat,
            Compat = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x5C..]),
            BackupGroup1 = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x24C..]),
            BackupGroup2 = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x250..]),
            RoCompat = roCompat,
            Uuid = new Guid(uuid, bigEndian: true),
            VolumeName = Encoding.UTF8.GetString(nul >= 0 ? name[..nul] : name),
            LastMountTime = BinaryPrimitives.ReadUInt32LittleEndian(sb[0x2C..]),
            ChecksumSeed = seed,
        };
    }
}
