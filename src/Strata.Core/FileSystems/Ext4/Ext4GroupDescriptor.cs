using System.Buffers.Binary;

namespace Strata.FileSystems.Ext4;

/// <summary>What the reader needs from a block group descriptor: where the group's inode table is and which of its inodes are in use.</summary>
public readonly record struct Ext4GroupDescriptor(ulong InodeTable, ushort Flags, uint UnusedInodes)
{
    public const ushort InodeUninit = 0x1;

    /// <summary>Parses one descriptor and checks its checksum (CRC-32C with metadata_csum, CRC-16 with uninit_bg) and inode table location.</summary>
    public static Ext4GroupDescriptor Parse(Ext4Superblock sb, uint group, ReadOnlySpan<byte> raw, string where)
    {
        bool wide = sb.Has(Ext4Incompat.Is64Bit) && sb.DescriptorSize >= 64;
        ushort stored = BinaryPrimitives.ReadUInt16LittleEndian(raw[0x1E..]);
        Span<byte> groupLe = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(groupLe, group);
        ReadOnlySpan<byte> zero = [0, 0];
        if (sb.HasMetadataChecksums)
        {
            uint crc = Checksums.Crc32C(sb.ChecksumSeed, groupLe);
            crc = Checksums.Crc32C(crc, raw[..0x1E]);
            crc = Checksums.Crc32C(crc, zero);
            crc = Checksums.Crc32C(crc, raw[0x20..sb.DescriptorSize]);
            if ((ushort)crc != stored)
                throw new CorruptFileSystemException($"{where}: block group {group}: descriptor checksum 0x{(ushort)crc:x4} does not match the stored 0x{stored:x4}");
        }
        else if ((sb.RoCompat & Ext4RoCompat.GdtCsum) != 0)
        {
            Span<byte> uuid = stackalloc byte[16];
            sb.Uuid.TryWriteBytes(uuid, bigEndian: true, out _);
            ushort crc = Checksums.Crc16(0xFFFF, uuid);
            crc = Checksums.Crc16(crc, groupLe);
            crc = Checksums.Crc16(crc, raw[..0x1E]);
            if (wide) crc = Checksums.Crc16(crc, raw[0x20..sb.DescriptorSize]);
            if (crc != stored)
                throw new CorruptFileSystemException($"{where}: block group {group}: descriptor checksum 0x{crc:x4} does not match the stored 0x{stored:x4}");
        }

        ulong table = BinaryPrimitives.ReadUInt32LittleEndian(raw[0x8..]);
        uint unused = BinaryPrimitives.ReadUInt16LittleEndian(raw[0x1C..]);
        if (wide)
        {
            table |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(raw[0x28..]) << 32;
            unused |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(raw[0x32..]) << 16;
        }
        ulong tableBlocks = ((ulong)sb.InodesPerGroup * (ulong)sb.InodeSize + (ulong)sb.BlockSize - 1) / (ulong)sb.BlockSize;
        if (table <= sb.FirstDataBlock || table >= sb.BlocksCount || tableBlocks > sb.BlocksCount - table)
            throw new CorruptFileSystemException($"{where}: block group {group}: inode table at block {table} lies outside the file system's {sb.BlocksCount} blocks");
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(raw[0x12..]);
        // Only a checksummed descriptor's "unused" count can be trusted (the kernel ignores it otherwise).
        if (!sb.HasMetadataChecksums && (sb.RoCompat & Ext4RoCompat.GdtCsum) == 0) { unused = 0; flags &= unchecked((ushort)~InodeUninit); }
        if (unused > sb.InodesPerGroup)
            throw new CorruptFileSystemException($"{where}: block group {group}: {unused} unused inodes of {sb.InodesPerGroup}");
        return new Ext4GroupDescriptor(table, flags, unused);
    }
}
