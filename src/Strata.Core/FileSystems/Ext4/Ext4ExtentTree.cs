using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Strata.FileSystems.Ext4;

/// <summary>
/// Walks an inode's extent tree (root in i_block, index and leaf nodes in blocks) in file order.
/// Every node is checked: magic, entry counts against capacity, depth one less than its parent
/// (so a damaged tree cannot loop), keys in order and inside the parent's range, blocks inside
/// the volume, and the checksum tail of each block (metadata_csum). Memory is one block per level.
/// </summary>
internal static class Ext4ExtentTree
{
    private const ushort Magic = 0xF30A;
    private const int HeaderSize = 12, EntrySize = 12, MaxDepth = 5;
    private const uint UnwrittenFlag = 32768;

    public static async IAsyncEnumerable<Ext4Extent> ExtentsAsync(Ext4FileSystem fs, Ext4Inode inode, [EnumeratorCancellation] CancellationToken ct)
    {
        byte[] root = inode.BlockArray.ToArray();
        var header = ReadHeader(fs, inode, root, -1, "its root in the inode");
        await foreach (var e in NodeAsync(fs, inode, root, header, 0, uint.MaxValue + 1UL, ct).ConfigureAwait(false))
            yield return e;
    }

    private static async IAsyncEnumerable<Ext4Extent> NodeAsync(Ext4FileSystem fs, Ext4Inode inode, byte[] node, (int Entries, int Depth) header,
        ulong rangeStart, ulong rangeEnd, [EnumeratorCancellation] CancellationToken ct)
    {
        ulong next = rangeStart;
        for (int i = 0; i < header.Entries; i++)
        {
            var entry = node.AsSpan(HeaderSize + i * EntrySize, EntrySize);
            uint first = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            if (first < next || first >= rangeEnd)
                throw Corrupt(fs, inode, $"entry {i} at depth {header.Depth} starts at file block {first}, outside blocks {next} to {rangeEnd}");
            if (header.Depth == 0)
            {
                uint length = BinaryPrimitives.ReadUInt16LittleEndian(entry[4..]);
                bool unwritten = length > UnwrittenFlag;
                if (unwritten) length -= UnwrittenFlag;
                ulong physical = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]) | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]) << 32;
                if (length == 0 || first + (ulong)length > rangeEnd)
                    throw Corrupt(fs, inode, $"extent at file block {first} has length {length}, beyond file block {rangeEnd}");
                fs.CheckBlocks(physical, length, $"inode {inode.Number}: extent at file block {first}");
                next = first + (ulong)length;
                yield return new Ext4Extent(first, physical, length, unwritten);
            }
            else
            {
                ulong child = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]) | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(entry[8..]) << 32;
                ulong childEnd = i + 1 < header.Entries ? BinaryPrimitives.ReadUInt32LittleEndian(node.AsSpan(HeaderSize + (i + 1) * EntrySize)) : rangeEnd;
                if (childEnd <= first || childEnd > rangeEnd)
                    throw Corrupt(fs, inode, $"index entries at depth {header.Depth} are out of order ({first}, then {childEnd})");
                fs.CheckBlocks(child, 1, $"inode {inode.Number}: extent index node");
                var block = new byte[fs.BlockSize];
                await fs.ReadBlockAsync(child, block, $"inode {inode.Number}: extent tree node", ct).ConfigureAwait(false);
                var childHeader = ReadHeader(fs, inode, block, header.Depth - 1, $"block {child}");
                VerifyTail(fs, inode, block, child);
                await foreach (var e in NodeAsync(fs, inode, block, childHeader, first, childEnd, ct).ConfigureAwait(false))
                    yield return e;
                next = childEnd;
            }
        }
    }

    /// <summary>The header's entry count and depth; <paramref name="expectedDepth"/> is -1 for the root, which may be any depth up to the limit.</summary>
    private static (int Entries, int Depth) ReadHeader(Ext4FileSystem fs, Ext4Inode inode, ReadOnlySpan<byte> node, int expectedDepth, string where)
    {
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(node);
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(node[2..]);
        int max = BinaryPrimitives.ReadUInt16LittleEndian(node[4..]);
        int depth = BinaryPrimitives.ReadUInt16LittleEndian(node[6..]);
        int capacity = (node.Length - HeaderSize) / EntrySize;
        if (magic != Magic) throw Corrupt(fs, inode, $"extent header in {where} has magic 0x{magic:x4}, expected 0x{Magic:x4}");
        if (max == 0 || max > capacity || entries > max)
            throw Corrupt(fs, inode, $"extent header in {where} claims {entries} of {max} entries where {capacity} fit");
        if (expectedDepth < 0 ? depth > MaxDepth : depth != expectedDepth)
            throw Corrupt(fs, inode, $"extent node in {where} has depth {depth}, expected {(expectedDepth < 0 ? $"at most {MaxDepth}" : expectedDepth)}");
        return (entries, depth);
    }

    /// <summary>With metadata_csum, the 4 bytes after the node's last possible entry hold CRC-32C of the node up to there, seeded by the inode.</summary>
    private static void VerifyTail(Ext4FileSystem fs, Ext4Inode inode, byte[] block, ulong blockNumber)
    {
        if (!fs.Superblock.HasMetadataChecksums) return;
        int max = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4));
        int tail = HeaderSize + max * EntrySize;
        if (tail + 4 > block.Length) throw Corrupt(fs, inode, $"extent block {blockNumber} has no room for its checksum");
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(tail));
        uint crc = Checksums.Crc32C(inode.ChecksumSeed(fs.Superblock), block.AsSpan(0, tail));
        if (crc != stored) throw Corrupt(fs, inode, $"extent block {blockNumber}: checksum 0x{crc:x8} does not match the stored 0x{stored:x8}");
    }

    private static CorruptFileSystemException Corrupt(Ext4FileSystem fs, Ext4Inode inode, string what) =>
        new($"{fs.Description}: inode {inode.Number}: damaged extent tree: {what}");
}
