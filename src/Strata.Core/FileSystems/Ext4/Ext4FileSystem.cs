using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Strata.Errors;
using Strata.Platform;

namespace Strata.FileSystems.Ext4;

/// <summary>
/// Reads an ext2/3/4 file system from a block source, read-only and without the kernel: looks up
/// paths, lists directories (a linear scan of every block, which covers htree directories too),
/// streams file contents by extent (holes and unwritten extents are skipped, so callers can keep
/// files sparse), reads symlinks, device numbers and extended attributes. Every on-disk value is
/// checked before it is used and metadata checksums are verified (metadata_csum), so a damaged or
/// hostile image gives a <see cref="CorruptFileSystemException"/> naming what is wrong; memory per
/// call is bounded by a block per extent-tree level or one directory block's entries.
/// The journal is not replayed: an image of a running system shows the last checkpointed state
/// (<see cref="Ext4Superblock.NeedsRecovery"/>). Safe for concurrent use.
/// </summary>
public sealed class Ext4FileSystem
{
    public const uint RootInode = 2;
    private const int MaxSymlinkLength = 4096;
    private const int ContentChunk = 1 << 20;
    private const int MaxCachedDescriptors = 1 << 16;
    /// <summary>Tens of millions of entries; a larger size is damage, and would make a listing run for hours.</summary>
    private const long MaxDirectoryBytes = 4L << 30;

    private readonly IBlockSource _volume;
    private readonly ConcurrentDictionary<uint, Ext4GroupDescriptor> _descriptors = new();

    private Ext4FileSystem(IBlockSource volume, Ext4Superblock superblock)
    {
        _volume = volume;
        Superblock = superblock;
    }

    public Ext4Superblock Superblock { get; }

    public int BlockSize => Superblock.BlockSize;

    public string Description => _volume.Description;

    /// <summary>Whether the volume starts like an ext2/3/4 file system (superblock magic), without validating anything else.</summary>
    public static async Task<bool> ProbeAsync(IBlockSource volume, CancellationToken ct)
    {
        if (volume.Length < Ext4Superblock.Offset + Ext4Superblock.Size) return false;
        var magic = new byte[2];
        await volume.ReadAsync(Ext4Superblock.Offset + 0x38, magic, ct).ConfigureAwait(false);
        return BinaryPrimitives.ReadUInt16LittleEndian(magic) == Ext4Superblock.Magic;
    }

    public static async Task<Ext4FileSystem> OpenAsync(IBlockSource volume, CancellationToken ct)
    {
        if (volume.Length < Ext4Superblock.Offset + Ext4Superblock.Size)
            throw new CorruptFileSystemException($"{volume.Description}: {volume.Length} bytes are too few for an ext4 file system");
        var raw = new byte[Ext4Superblock.Size];
        await volume.ReadCheckedAsync(Ext4Superblock.Offset, raw, "the ext4 superblock", ct).ConfigureAwait(false);
        var fs = new Ext4FileSystem(volume, Ext4Superblock.Parse(raw, volume.Length, volume.Description));
        var root = await fs.ReadInodeAsync(RootInode, ct).ConfigureAwait(false);
        if (root.Kind != FileKind.Directory)
            throw new CorruptFileSystemException($"{volume.Description}: the root inode is a {root.Kind}, not a directory");
        return fs;
    }

    /// <summary>Throws unless blocks [<paramref name="first"/>, +<paramref name="count"/>) are inside the volume and past the boot block.</summary>
    internal void CheckBlocks(ulong first, ulong count, string what)
    {
        if (first < Superblock.FirstDataBlock || first >= Superblock.BlocksCount || count > Superblock.BlocksCount - first)
            throw new CorruptFileSystemException($"{Description}: {what}: blocks {first} to {first + count} lie outside the file system's {Superblock.BlocksCount} blocks");
    }

    /// <summary>Reads <paramref name="buffer"/>.Length bytes from block <paramref name="block"/> on (already range-checked by the caller).</summary>
    internal ValueTask ReadBlockAsync(ulong block, Memory<byte> buffer, string what, CancellationToken ct) =>
        _volume.ReadCheckedAsync((long)block * BlockSize, buffer, what, ct);

    public async Task<Ext4Inode> ReadInodeAsync(uint number, CancellationToken ct)
    {
        if (number == 0 || number > Superblock.InodesCount)
            throw new CorruptFileSystemException($"{Description}: inode number {number} outside 1 to {Superblock.InodesCount}");
        uint group = (number - 1) / Superblock.InodesPerGroup;
        uint index = (number - 1) % Superblock.InodesPerGroup;
        var descriptor = await GroupDescriptorAsync(group, ct).ConfigureAwait(false);
        if ((descriptor.Flags & Ext4GroupDescriptor.InodeUninit) != 0 || index >= Superblock.InodesPerGroup - descriptor.UnusedInodes)
            throw new CorruptFileSystemException($"{Description}: inode {number} is referenced but its block group {group} marks it as never used");
        var raw = new byte[Superblock.InodeSize];
        long offset = (long)descriptor.InodeTable * BlockSize + (long)index * Superblock.InodeSize;
        await _volume.ReadCheckedAsync(offset, raw, $"inode {number}", ct).ConfigureAwait(false);
        var inode = Ext4Inode.Parse(Superblock, number, raw, Description);
        if (inode.LinksCount == 0 && inode.DeletionTime != 0 && number >= 11)
            throw new CorruptFileSystemException($"{Description}: inode {number} is referenced but was deleted");
        return inode;
    }

    private async ValueTask<Ext4GroupDescriptor> GroupDescriptorAsync(uint group, CancellationToken ct)
    {
        if (_descriptors.TryGetValue(group, out var cached)) return cached;
        int size = Superblock.DescriptorSize;
        uint perBlock = (uint)(BlockSize / size);
        uint tableBlock = group / perBlock;
        ulong block;
        if (!Superblock.Has(Ext4Incompat.MetaBg) || tableBlock < Superblock.FirstMetaBg)
        {
            // Right after the superblock's block (block 1 with 1 KiB blocks, even when bigalloc makes the first data block 0).
            block = (ulong)(Ext4Superblock.Offset / BlockSize) + 1UL + tableBlock;
        }
        else
        {
            // meta_bg: each run of perBlock groups keeps its descriptors in the first block of its first group (Linux descriptor_loc).
            ulong firstGroup = (ulong)tableBlock * perBlock;
            block = Superblock.FirstDataBlock + firstGroup * Superblock.BlocksPerGroup + (Superblock.GroupHasSuperblock(firstGroup) ? 1UL : 0UL);
            if (BlockSize == 1024 && tableBlock == 0 && Superblock.FirstDataBlock == 0) block++;
        }
        CheckBlocks(block, 1, $"descriptor of block group {group}");
        var raw = new byte[size];
        await _volume.ReadCheckedAsync((long)block * BlockSize + (long)(group % perBlock) * size, raw, $"descriptor of block group {group}", ct).ConfigureAwait(false);
        var descriptor = Ext4GroupDescriptor.Parse(Superblock, group, raw, Description);
        if (_descriptors.Count >= MaxCachedDescriptors) _descriptors.Clear();
        _descriptors[group] = descriptor;
        return descriptor;
    }

    /// <summary>
    /// The inode at <paramref name="path"/> (absolute or relative to the root; "." and ".." are
    /// resolved by name). Symlinks are not followed: one in the middle of the path is an error,
    /// one at its end is returned as the link itself.
    /// </summary>
    public async Task<Ext4Inode> LookupAsync(string path, CancellationToken ct)
    {
        var components = SplitPath(path);
        var current = await ReadInodeAsync(RootInode, ct).ConfigureAwait(false);
        string walked = "";
        foreach (var name in components)
        {
            if (current.Kind == FileKind.Symlink)
                throw new UsageException($"{walked} in the ext4 file system is a symbolic link to {await ReadSymlinkAsync(current, ct).ConfigureAwait(false)}; give the path it points to");
            if (current.Kind != FileKind.Directory)
                throw new UsageException($"{walked} in the ext4 file system is not a directory");
            uint? found = null;
            await foreach (var entry in ReadDirectoryAsync(current, ct).ConfigureAwait(false))
            {
                if (entry.Name == name) { found = entry.Inode; break; }
            }
            walked += "/" + name;
            if (found is not uint number) throw new UsageException($"{walked}: no such file or directory in the ext4 file system");
            current = await ReadInodeAsync(number, ct).ConfigureAwait(false);
        }
        return current;
    }

    /// <summary>The components of a path in the file system, "." dropped and ".." resolved by name (never above the root).</summary>
    public static List<string> SplitPath(string path)
    {
        var components = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..") { if (components.Count > 0) components.RemoveAt(components.Count - 1); continue; }
            components.Add(part);
        }
        return components;
    }

    /// <summary>The entries of a directory, in on-disk order, without "." and "..".</summary>
    public async IAsyncEnumerable<Ext4DirectoryEntry> ReadDirectoryAsync(Ext4Inode directory, [EnumeratorCancellation] CancellationToken ct)
    {
        if (directory.Kind != FileKind.Directory) throw new ArgumentException($"inode {directory.Number} is not a directory", nameof(directory));
        CheckNotEncrypted(directory);
        var entries = new List<Ext4DirectoryEntry>();
        if (directory.Has(Ext4InodeFlags.InlineData))
        {
            // i_block: the parent's inode number, then entries; system.data continues them.
            Ext4DirectoryBlock.Parse(this, directory, directory.BlockArray[4..], "inline entries", entries);
            var more = InlineDataXattr(directory);
            if (more.Length > 0) Ext4DirectoryBlock.Parse(this, directory, more, "inline entries in system.data", entries);
            foreach (var e in entries) yield return e;
            yield break;
        }

        long size = directory.Size;
        if (size > MaxDirectoryBytes)
            throw new CorruptFileSystemException($"{Description}: directory inode {directory.Number} claims {size} bytes; directories stay far below {MaxDirectoryBytes >> 30} GiB");
        if (size % BlockSize != 0)
            throw new CorruptFileSystemException($"{Description}: directory inode {directory.Number} has size {size}, not a multiple of the {BlockSize}-byte block");
        ulong blocks = (ulong)size / (ulong)BlockSize;
        bool checksums = Superblock.HasMetadataChecksums;
        bool hashed = directory.Has(Ext4InodeFlags.HashIndexed);
        var buffer = new byte[BlockSize];
        await foreach (var extent in ExtentsAsync(directory, ct).ConfigureAwait(false))
        {
            if (extent.LogicalBlock >= blocks) break;
            if (extent.Unwritten) continue;
            ulong count = Math.Min(extent.Length, blocks - extent.LogicalBlock);
            for (ulong i = 0; i < count; i++)
            {
                ulong logical = extent.LogicalBlock + i, physical = extent.PhysicalBlock + i;
                await ReadBlockAsync(physical, buffer, $"directory inode {directory.Number}, block {logical}", ct).ConfigureAwait(false);
                // Htree interior blocks: the root (block 0) holds "." and ".." then the index, which the
                // parser reads as part of ".."; other interior nodes are one empty entry over the block.
                bool interior = hashed && (logical == 0 || Ext4DirectoryBlock.IsEmptyWholeBlock(buffer));
                var area = buffer.AsSpan();
                if (checksums && !interior)
                {
                    if (!Ext4DirectoryBlock.HasTail(buffer))
                        throw new CorruptFileSystemException($"{Description}: directory inode {directory.Number}, block {logical}: the checksum entry at the end of the block is missing");
                    Ext4DirectoryBlock.VerifyTail(this, directory, buffer, physical);
                    area = area[..^Ext4DirectoryBlock.TailSize];
                }
                entries.Clear();
                Ext4DirectoryBlock.Parse(this, directory, area, $"block {logical}", entries);
                foreach (var e in entries) yield return e;
            }
        }
    }

    /// <summary>The runs of the file's blocks in file order (extent tree or ext2/3 block map). Inline files have none.</summary>
    public IAsyncEnumerable<Ext4Extent> ExtentsAsync(Ext4Inode inode, CancellationToken ct)
    {
        if (inode.Has(Ext4InodeFlags.InlineData)) return AsyncEnumerable.Empty<Ext4Extent>();
        return inode.Has(Ext4InodeFlags.Extents) ? Ext4ExtentTree.ExtentsAsync(this, inode, ct) : Ext4BlockPointers.ExtentsAsync(this, inode, ct);
    }

    /// <summary>
    /// Streams the data of a regular file (or slow symlink) to <paramref name="write"/> as (file
    /// offset, bytes) in increasing offsets, in pieces of up to 1 MiB. Ranges not passed are holes
    /// and read as zeros up to <see cref="Ext4Inode.Size"/>. The memory passed is reused after the call returns.
    /// </summary>
    public async Task ReadContentAsync(Ext4Inode inode, Func<long, ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        CheckNotEncrypted(inode);
        long size = inode.Size;
        if (size < 0) throw new CorruptFileSystemException($"{Description}: inode {inode.Number} has a negative size");
        if (inode.Has(Ext4InodeFlags.InlineData))
        {
            var inline = InlineContent(inode);
            if (inline.Length > 0) await write(0, inline, ct).ConfigureAwait(false);
            return;
        }
        // Two buffers: the next piece is read while the previous one is being written, so a slow
        // source (a snapshot fetching blobs) and the writer work at the same time.
        byte[][] buffers = [ArrayPool<byte>.Shared.Rent(ContentChunk), ArrayPool<byte>.Shared.Rent(ContentChunk)];
        (long Offset, int Length, Task Read)? previous = null;
        int slot = 0;
        try
        {
            await foreach (var extent in ExtentsAsync(inode, ct).ConfigureAwait(false))
            {
                long start = (long)extent.LogicalBlock * BlockSize;
                if (start >= size) break;
                if (extent.Unwritten) continue;
                long length = Math.Min((long)extent.Length * BlockSize, size - start);
                for (long done = 0; done < length;)
                {
                    int n = (int)Math.Min(ContentChunk, length - done);
                    long physical = (long)extent.PhysicalBlock * BlockSize + done;
                    var read = _volume.ReadCheckedAsync(physical, buffers[slot].AsMemory(0, n), $"inode {inode.Number}, bytes {start + done}+{n}", ct).AsTask();
                    var finished = previous;
                    previous = (start + done, n, read);
                    if (finished is { } f)
                    {
                        await f.Read.ConfigureAwait(false);
                        await write(f.Offset, buffers[slot ^ 1].AsMemory(0, f.Length), ct).ConfigureAwait(false);
                    }
                    slot ^= 1;
                    done += n;
                }
            }
            if (previous is { } last)
            {
                previous = null;
                await last.Read.ConfigureAwait(false);
                await write(last.Offset, buffers[slot ^ 1].AsMemory(0, last.Length), ct).ConfigureAwait(false);
            }
        }
        finally
        {
            // A read still in flight writes into its buffer: wait for it before the pool gets the buffer back.
            if (previous is { } pending)
            {
                try { await pending.Read.ConfigureAwait(false); }
                catch (Exception) { /* the exception already on its way out matters, not this one */ }
            }
            ArrayPool<byte>.Shared.Return(buffers[0]);
            ArrayPool<byte>.Shared.Return(buffers[1]);
        }
    }

    /// <summary>The whole content of a small file or symlink, at most <paramref name="limit"/> bytes.</summary>
    public async Task<byte[]> ReadAllAsync(Ext4Inode inode, int limit, CancellationToken ct)
    {
        if (inode.Size > limit) throw new CorruptFileSystemException($"{Description}: inode {inode.Number} has {inode.Size} bytes where at most {limit} are expected");
        var content = new byte[inode.Size];
        await ReadContentAsync(inode, (offset, data, _) =>
        {
            data.Span.CopyTo(content.AsSpan((int)offset));
            return ValueTask.CompletedTask;
        }, ct).ConfigureAwait(false);
        return content;
    }

    /// <summary>The target of a symbolic link: in i_block when shorter than 60 bytes ("fast"), else in its data.</summary>
    public async Task<string> ReadSymlinkAsync(Ext4Inode link, CancellationToken ct)
    {
        if (link.Kind != FileKind.Symlink) throw new ArgumentException($"inode {link.Number} is not a symbolic link", nameof(link));
        CheckNotEncrypted(link);
        long size = link.Size;
        if (size <= 0 || size > MaxSymlinkLength)
            throw new CorruptFileSystemException($"{Description}: symbolic link inode {link.Number} has a target of {size} bytes");
        // Targets under 60 bytes live in i_block, which then holds no extent tree (an extents flag
        // left on such a link, as some tools do, is recognised by the missing extent magic).
        bool fast = !link.Has(Ext4InodeFlags.InlineData) && size < Ext4Inode.BlockArraySize
            && (!link.Has(Ext4InodeFlags.Extents) || BinaryPrimitives.ReadUInt16LittleEndian(link.BlockArray) != 0xF30A);
        byte[] target = fast ? link.BlockArray[..(int)size].ToArray() : await ReadAllAsync(link, MaxSymlinkLength, ct).ConfigureAwait(false);
        if (target.AsSpan().IndexOf((byte)0) >= 0)
            throw new CorruptFileSystemException($"{Description}: symbolic link inode {link.Number} has a NUL byte in its target");
        return Encoding.UTF8.GetString(target);
    }

    /// <summary>Extended attributes by full name ("user.x", "security.selinux", POSIX ACLs in the generic format), in-inode ones first.</summary>
    public async Task<List<KeyValuePair<string, byte[]>>> ReadXattrsAsync(Ext4Inode inode, CancellationToken ct)
    {
        var result = new List<KeyValuePair<string, byte[]>>();
        var area = inode.InlineXattrArea;
        string where = $"{Description}: inode {inode.Number}";
        if (area.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(area) == Ext4Xattrs.Magic)
        {
            var copy = area.ToArray();
            foreach (var entry in Ext4Xattrs.ParseEntries(copy, 4, 4, where + ", in-inode attributes"))
                await AddAsync(entry, copy, 4).ConfigureAwait(false);
        }
        ulong block = inode.XattrBlock;
        if (block != 0)
        {
            string blockWhere = $"{where}, attribute block {block}";
            CheckBlocks(block, 1, blockWhere);
            var data = new byte[BlockSize];
            await ReadBlockAsync(block, data, blockWhere, ct).ConfigureAwait(false);
            if (BinaryPrimitives.ReadUInt32LittleEndian(data) != Ext4Xattrs.Magic)
                throw new CorruptFileSystemException($"{blockWhere}: magic 0x{BinaryPrimitives.ReadUInt32LittleEndian(data):x8}, expected 0x{Ext4Xattrs.Magic:x8}");
            if (BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8)) != 1)
                throw new CorruptFileSystemException($"{blockWhere}: spans {BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8))} blocks; only 1 exists");
            if (Superblock.HasMetadataChecksums)
            {
                uint stored = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(0x10));
                Span<byte> blockLe = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(blockLe, block);
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(0x10), 0);
                uint crc = Checksums.Crc32C(Checksums.Crc32C(Superblock.ChecksumSeed, blockLe), data);
                if (crc != stored) throw new CorruptFileSystemException($"{blockWhere}: checksum 0x{crc:x8} does not match the stored 0x{stored:x8}");
            }
            foreach (var entry in Ext4Xattrs.ParseEntries(data, Ext4Xattrs.BlockHeaderSize, 0, blockWhere))
                await AddAsync(entry, data, 0).ConfigureAwait(false);
        }
        return result;

        async Task AddAsync(Ext4Xattrs.Entry entry, byte[] area, int origin)
        {
            if (entry.IsInlineData || entry.FullName is not string name) return;
            byte[] value = entry.ValueInode != 0
                ? await ValueInodeAsync(inode, entry, ct).ConfigureAwait(false)
                : area.AsSpan(origin + entry.ValueOffset, entry.ValueSize).ToArray();
            if (entry.NameIndex is 2 or 3) value = Ext4Xattrs.AclToGeneric(value, $"{where}, {name}");
            result.Add(new(name, value));
        }
    }

    /// <summary>A value kept in its own inode (ea_inode feature).</summary>
    private async Task<byte[]> ValueInodeAsync(Ext4Inode owner, Ext4Xattrs.Entry entry, CancellationToken ct)
    {
        if (!Superblock.Has(Ext4Incompat.EaInode))
            throw new CorruptFileSystemException($"{Description}: inode {owner.Number}: attribute {entry.FullName} points to inode {entry.ValueInode} without the ea_inode feature");
        if (entry.ValueInode == owner.Number)
            throw new CorruptFileSystemException($"{Description}: inode {owner.Number}: attribute {entry.FullName} points to its own inode");
        var valueInode = await ReadInodeAsync(entry.ValueInode, ct).ConfigureAwait(false);
        if (!valueInode.Has(Ext4InodeFlags.EaInode) || valueInode.Kind != FileKind.Regular || valueInode.Size != entry.ValueSize)
            throw new CorruptFileSystemException($"{Description}: inode {owner.Number}: attribute {entry.FullName} points to inode {entry.ValueInode}, which is not a {entry.ValueSize}-byte attribute value");
        return await ReadAllAsync(valueInode, Ext4Xattrs.MaxValueSize, ct).ConfigureAwait(false);
    }

    /// <summary>An inline file's bytes: the first 60 in i_block, the rest in the system.data attribute.</summary>
    private byte[] InlineContent(Ext4Inode inode)
    {
        long size = inode.Size;
        if (size <= Ext4Inode.BlockArraySize) return inode.BlockArray[..(int)size].ToArray();
        var more = InlineDataXattr(inode);
        if (size > Ext4Inode.BlockArraySize + more.Length)
            throw new CorruptFileSystemException($"{Description}: inline inode {inode.Number} has size {size} but holds only {Ext4Inode.BlockArraySize + more.Length} bytes");
        var content = new byte[size];
        inode.BlockArray.CopyTo(content);
        more.AsSpan(0, (int)size - Ext4Inode.BlockArraySize).CopyTo(content.AsSpan(Ext4Inode.BlockArraySize));
        return content;
    }

    private byte[] InlineDataXattr(Ext4Inode inode)
    {
        var area = inode.InlineXattrArea;
        if (area.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(area) != Ext4Xattrs.Magic) return [];
        var copy = area.ToArray();
        foreach (var entry in Ext4Xattrs.ParseEntries(copy, 4, 4, $"{Description}: inode {inode.Number}, in-inode attributes"))
            if (entry.IsInlineData && entry.ValueInode == 0) return copy.AsSpan(4 + entry.ValueOffset, entry.ValueSize).ToArray();
        return [];
    }

    private void CheckNotEncrypted(Ext4Inode inode)
    {
        if (inode.Has(Ext4InodeFlags.Encrypted))
            throw new UnsupportedFileSystemException($"{Description}: inode {inode.Number} is encrypted (fscrypt); its names and contents cannot be read without its key");
    }
}
