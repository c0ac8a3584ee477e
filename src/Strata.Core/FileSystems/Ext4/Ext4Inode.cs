using System.Buffers.Binary;
using Strata.Platform;

namespace Strata.FileSystems.Ext4;

/// <summary>
/// One inode as stored (the whole on-disk record is kept: i_block holds extents, inline data or a
/// short symlink, and the space after the extra fields holds in-inode xattrs), with its fields decoded.
/// </summary>
public sealed class Ext4Inode
{
    public const int GoodOldSize = 128;
    public const int BlockArrayOffset = 0x28;
    public const int BlockArraySize = 60;

    private readonly byte[] _raw;

    private Ext4Inode(uint number, byte[] raw, int extraSize)
    {
        Number = number;
        _raw = raw;
        ExtraSize = extraSize;
    }

    public uint Number { get; }
    public uint Mode => BinaryPrimitives.ReadUInt16LittleEndian(_raw);
    public uint Uid => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(0x2)) | (uint)BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(0x78)) << 16;
    public uint Gid => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(0x18)) | (uint)BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(0x7A)) << 16;
    public long Size => (long)(BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(0x4)) | (ulong)BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(0x6C)) << 32);
    public ushort LinksCount => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(0x1A));
    public Ext4InodeFlags Flags => (Ext4InodeFlags)BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(0x20));
    public uint Generation => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(0x64));
    public ulong XattrBlock => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(0x68)) | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(0x76)) << 32;
    public uint DeletionTime => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(0x14));

    public Ext4Timestamp AccessTime => Time(0x08, 0x8C);
    public Ext4Timestamp ChangeTime => Time(0x0C, 0x84);
    public Ext4Timestamp ModificationTime => Time(0x10, 0x88);
    /// <summary>Creation time; only inodes with room for the extra fields have one.</summary>
    public Ext4Timestamp? BirthTime => Fits(0x94 + 4) ? Time(0x90, 0x94) : null;

    /// <summary>i_extra_isize: bytes of extra fields after the first 128.</summary>
    public int ExtraSize { get; }

    public FileKind Kind => (Mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.Symlink,
        0x1000 => FileKind.Fifo,
        0xC000 => FileKind.Socket,
        0x2000 => FileKind.CharDevice,
        0x6000 => FileKind.BlockDevice,
        _ => throw new CorruptFileSystemException($"inode {Number}: mode 0{Convert.ToString(Mode, 8)} holds no file type"),
    };

    public uint Permissions => Mode & 0xFFF;

    /// <summary>i_block: 60 bytes of extent tree root, block pointers, inline data or a fast symlink target.</summary>
    public ReadOnlySpan<byte> BlockArray => _raw.AsSpan(BlockArrayOffset, BlockArraySize);

    /// <summary>The space after the extra fields where in-inode extended attributes live (empty for 128-byte inodes).</summary>
    public ReadOnlySpan<byte> InlineXattrArea => _raw.Length > GoodOldSize ? _raw.AsSpan(GoodOldSize + ExtraSize) : [];

    /// <summary>Device number of a character or block device (old 16-bit or new 32-bit encoding in i_block), as (major, minor).</summary>
    public (uint Major, uint Minor) Device
    {
        get
        {
            uint old = BinaryPrimitives.ReadUInt32LittleEndian(BlockArray);
            if (old != 0) return ((old >> 8) & 0xFF, old & 0xFF);
            uint dev = BinaryPrimitives.ReadUInt32LittleEndian(BlockArray[4..]);
            return ((dev & 0xFFF00) >> 8, (dev & 0xFF) | ((dev >> 12) & 0xFFF00));
        }
    }

    public bool Has(Ext4InodeFlags flag) => (Flags & flag) != 0;

    private bool Fits(int end) => GoodOldSize + ExtraSize >= end;

    private Ext4Timestamp Time(int secondsAt, int extraAt) =>
        Ext4Timestamp.Decode(BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(secondsAt)),
            Fits(extraAt + 4) ? BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(extraAt)) : null);

    /// <summary>Decodes an inode record and verifies its checksum (metadata_csum) and extra size.</summary>
    public static Ext4Inode Parse(Ext4Superblock sb, uint number, byte[] raw, string where)
    {
        int extra = 0;
        if (raw.Length > GoodOldSize)
        {
            extra = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0x80));
            if (GoodOldSize + extra > raw.Length || (extra & 3) != 0)
                throw new CorruptFileSystemException($"{where}: inode {number}: extra size {extra} does not fit a {raw.Length}-byte inode");
        }
        if (sb.HasMetadataChecksums)
        {
            bool hasHigh = raw.Length > GoodOldSize && extra >= 4;
            uint stored = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0x7C));
            if (hasHigh) stored |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0x82)) << 16;
            uint crc = Checksum(sb, number, raw, hasHigh);
            if (!hasHigh) crc &= 0xFFFF;
            if (crc != stored)
                throw new CorruptFileSystemException($"{where}: inode {number}: checksum 0x{crc:x8} does not match the stored 0x{stored:x8}");
        }
        return new Ext4Inode(number, raw, extra);
    }

    /// <summary>The per-inode seed of the checksums of its extent and directory blocks: CRC-32C of the inode number and generation.</summary>
    public uint ChecksumSeed(Ext4Superblock sb) =>
        Checksums.Crc32C(Checksums.Crc32C(sb.ChecksumSeed, Number), Generation);

    private static uint Checksum(Ext4Superblock sb, uint number, byte[] raw, bool hasHigh)
    {
        uint gen = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(0x64));
        uint crc = Checksums.Crc32C(Checksums.Crc32C(sb.ChecksumSeed, number), gen);
        ReadOnlySpan<byte> zero = [0, 0];
        crc = Checksums.Crc32C(crc, raw.AsSpan(0, 0x7C));
        crc = Checksums.Crc32C(crc, zero);
        crc = Checksums.Crc32C(crc, raw.AsSpan(0x7E, GoodOldSize - 0x7E));
        if (raw.Length > GoodOldSize)
        {
            crc = Checksums.Crc32C(crc, raw.AsSpan(GoodOldSize, 0x82 - GoodOldSize));
            int rest = 0x82;
            if (hasHigh)
            {
                crc = Checksums.Crc32C(crc, zero);
                rest += 2;
            }
            crc = Checksums.Crc32C(crc, raw.AsSpan(rest));
        }
        return crc;
    }
}
