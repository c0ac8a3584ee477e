using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Strata.FileSystems.Ext4;

/// <summary>
/// The ext2/ext3 block map of inodes without extents: 12 direct pointers, then single, double and
/// triple indirect blocks. Adjacent blocks are merged into runs; zero pointers are holes. Only
/// pointers below the file's size are followed, so a damaged map cannot make the walk unbounded.
/// </summary>
internal static class Ext4BlockPointers
{
    private const int Direct = 12;

    public static async IAsyncEnumerable<Ext4Extent> ExtentsAsync(Ext4FileSystem fs, Ext4Inode inode, [EnumeratorCancellation] CancellationToken ct)
    {
        ulong fileBlocks = ((ulong)inode.Size + (ulong)fs.BlockSize - 1) / (ulong)fs.BlockSize;
        if (fileBlocks > uint.MaxValue) throw new CorruptFileSystemException($"{fs.Description}: inode {inode.Number}: size {inode.Size} is too large for a block-mapped file");
        var run = new RunBuilder();
        var pointers = inode.BlockArray;
        var direct = new uint[Direct];
        for (int i = 0; i < Direct; i++) direct[i] = BinaryPrimitives.ReadUInt32LittleEndian(pointers[(4 * i)..]);
        uint[] indirect = [BinaryPrimitives.ReadUInt32LittleEndian(pointers[48..]), BinaryPrimitives.ReadUInt32LittleEndian(pointers[52..]), BinaryPrimitives.ReadUInt32LittleEndian(pointers[56..])];

        for (uint b = 0; b < Direct && b < fileBlocks; b++)
            if (run.Add(fs, inode, b, direct[b]) is Ext4Extent e) yield return e;
        ulong perBlock = (ulong)fs.BlockSize / 4;
        ulong start = Direct, span = perBlock;
        for (int level = 1; level <= 3 && start < fileBlocks; level++)
        {
            await foreach (var e in WalkAsync(fs, inode, indirect[level - 1], level, start, fileBlocks, run, ct).ConfigureAwait(false))
                yield return e;
            start += span;
            span *= perBlock;
        }
        if (run.Flush() is Ext4Extent last) yield return last;
    }

    private static async IAsyncEnumerable<Ext4Extent> WalkAsync(Ext4FileSystem fs, Ext4Inode inode, uint block, int level, ulong firstLogical, ulong fileBlocks,
        RunBuilder run, [EnumeratorCancellation] CancellationToken ct)
    {
        if (block == 0) yield break; // a hole as large as this whole subtree
        fs.CheckBlocks(block, 1, $"inode {inode.Number}: indirect block");
        var data = new byte[fs.BlockSize];
        await fs.ReadBlockAsync(block, data, $"inode {inode.Number}: indirect block", ct).ConfigureAwait(false);
        ulong perBlock = (ulong)fs.BlockSize / 4;
        ulong childSpan = 1;
        for (int i = 1; i < level; i++) childSpan *= perBlock;
        for (int i = 0; i < (int)perBlock; i++)
        {
            ulong logical = firstLogical + (ulong)i * childSpan;
            if (logical >= fileBlocks) yield break;
            uint pointer = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4 * i));
            if (level == 1)
            {
                if (run.Add(fs, inode, (uint)logical, pointer) is Ext4Extent e) yield return e;
            }
            else
            {
                await foreach (var e in WalkAsync(fs, inode, pointer, level - 1, logical, fileBlocks, run, ct).ConfigureAwait(false))
                    yield return e;
            }
        }
    }

    /// <summary>Merges consecutive (logical, physical) pairs into runs.</summary>
    private sealed class RunBuilder
    {
        private uint _logical, _length;
        private ulong _physical;

        public Ext4Extent? Add(Ext4FileSystem fs, Ext4Inode inode, uint logical, uint physical)
        {
            if (physical == 0) return null;
            fs.CheckBlocks(physical, 1, $"inode {inode.Number}: file block {logical}");
            if (_length > 0 && logical == _logical + _length && physical == _physical + _length && _length < uint.MaxValue)
            {
                _length++;
                return null;
            }
            var done = Flush();
            (_logical, _physical, _length) = (logical, physical, 1);
            return done;
        }

        public Ext4Extent? Flush()
        {
            if (_length == 0) return null;
            var e = new Ext4Extent(_logical, _physical, _length, false);
            _length = 0;
            return e;
        }
    }
}
