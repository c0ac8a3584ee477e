using System.Buffers.Binary;
using System.Text;

namespace Strata.FileSystems.Ext4;

/// <summary>
/// Parses the linear entries of one directory block (or inline directory area): inode, record
/// length, name length, file type, name. Record lengths must be 4-aligned, hold their name and stay
/// inside the block, so a damaged block cannot make the scan skip backwards or run off the end.
/// Htree interior blocks look like one empty entry spanning the block and yield nothing.
/// </summary>
internal static class Ext4DirectoryBlock
{
    public const int TailSize = 12;
    private const byte TailFileType = 0xDE;

    /// <summary>Whether the block ends in the 12-byte checksum entry of metadata_csum leaf blocks.</summary>
    public static bool HasTail(ReadOnlySpan<byte> block) =>
        block.Length >= TailSize && BinaryPrimitives.ReadUInt32LittleEndian(block[^TailSize..]) == 0
        && BinaryPrimitives.ReadUInt16LittleEndian(block[(block.Length - 8)..]) == TailSize
        && block[^6] == 0 && block[^5] == TailFileType;

    /// <summary>One unused entry spanning the whole block: what an htree interior node looks like to a linear scan.</summary>
    public static bool IsEmptyWholeBlock(ReadOnlySpan<byte> block) =>
        BinaryPrimitives.ReadUInt32LittleEndian(block) == 0 && RecordLength(BinaryPrimitives.ReadUInt16LittleEndian(block[4..]), block.Length) == block.Length;

    /// <summary>Checks the tail's CRC-32C (seeded by the directory inode) over the block before it.</summary>
    public static void VerifyTail(Ext4FileSystem fs, Ext4Inode dir, ReadOnlySpan<byte> block, ulong blockNumber)
    {
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(block[^4..]);
        uint crc = Checksums.Crc32C(dir.ChecksumSeed(fs.Superblock), block[..^TailSize]);
        if (crc != stored)
            throw new CorruptFileSystemException($"{fs.Description}: directory inode {dir.Number}, block {blockNumber}: checksum 0x{crc:x8} does not match the stored 0x{stored:x8}");
    }

    /// <summary>Adds the live entries of <paramref name="area"/> (without "." and "..") to <paramref name="into"/>.</summary>
    public static void Parse(Ext4FileSystem fs, Ext4Inode dir, ReadOnlySpan<byte> area, string where, List<Ext4DirectoryEntry> into)
    {
        bool fileType = fs.Superblock.Has(Ext4Incompat.FileType);
        int offset = 0;
        while (offset < area.Length)
        {
            if (area.Length - offset < 8)
                throw Corrupt(fs, dir, where, offset, $"{area.Length - offset} bytes left, too few for an entry");
            var e = area[offset..];
            uint inode = BinaryPrimitives.ReadUInt32LittleEndian(e);
            int recordLength = RecordLength(BinaryPrimitives.ReadUInt16LittleEndian(e[4..]), fs.BlockSize);
            int nameLength = fileType ? e[6] : BinaryPrimitives.ReadUInt16LittleEndian(e[6..]);
            if (recordLength < 12 || recordLength % 4 != 0 || recordLength > area.Length - offset)
                throw Corrupt(fs, dir, where, offset, $"record length {recordLength} (the area has {area.Length - offset} bytes left)");
            if (inode != 0)
            {
                if (nameLength == 0 || nameLength > 255 || 8 + nameLength > recordLength)
                    throw Corrupt(fs, dir, where, offset, $"name length {nameLength} in a record of {recordLength} bytes");
                if (inode > fs.Superblock.InodesCount)
                    throw Corrupt(fs, dir, where, offset, $"inode number {inode} beyond the file system's {fs.Superblock.InodesCount}");
                var name = e.Slice(8, nameLength);
                if (name.IndexOf((byte)0) >= 0 || name.IndexOf((byte)'/') >= 0)
                    throw Corrupt(fs, dir, where, offset, "a name that holds '/' or NUL");
                bool dot = name.Length == 1 && name[0] == '.', dotDot = name.Length == 2 && name[0] == '.' && name[1] == '.';
                if (!dot && !dotDot) into.Add(new Ext4DirectoryEntry(Encoding.UTF8.GetString(name), inode));
            }
            offset += recordLength;
        }
    }

    /// <summary>rec_len as stored; 64 KiB blocks store a whole-block record as 0 or 65535 (Linux ext4_rec_len_from_disk).</summary>
    private static int RecordLength(ushort stored, int blockSize) =>
        blockSize >= 65536 && (stored == 65535 || stored == 0) ? 65536 : (stored & 65532) | ((stored & 3) << 16);

    private static CorruptFileSystemException Corrupt(Ext4FileSystem fs, Ext4Inode dir, string where, int offset, string what) =>
        new($"{fs.Description}: directory inode {dir.Number}, {where}, byte {offset}: damaged entry: {what}");
}
