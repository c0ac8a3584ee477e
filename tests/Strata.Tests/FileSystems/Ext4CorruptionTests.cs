using System.Text.RegularExpressions;
using Strata.Errors;
using Strata.FileSystems;
using Strata.FileSystems.Ext4;
using Strata.Platform;

namespace Strata.Tests.FileSystems;

/// <summary>Damaged images give errors that say what is damaged; they never crash the reader, hang it or make it write outside the target.</summary>
public sealed class Ext4CorruptionTests
{
    [Fact]
    public async Task A_flipped_byte_in_the_superblock_fails_its_checksum()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        DiskImages.FlipByte(image.Image, 1024 + 0x30); // s_wtime: harmless except for the checksum

        var e = await Assert.ThrowsAsync<CorruptFileSystemException>(() => image.RestoreAsync());
        Assert.Contains("damaged ext4 superblock: checksum", e.Message);
    }

    [Fact]
    public async Task A_superblock_without_checksums_is_still_checked_for_sense()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-O", "^metadata_csum"]);
        using (var f = new FileStream(image.Image, FileMode.Open)) // s_log_block_size = 9: 512 KiB blocks
        {
            f.Position = 1024 + 0x18;
            f.WriteByte(9);
        }

        var e = await Assert.ThrowsAsync<CorruptFileSystemException>(() => image.RestoreAsync());
        Assert.Contains("block size 2^19 is above 64 KiB", e.Message);
    }

    [Fact]
    public async Task A_damaged_inode_is_reported_and_everything_else_is_restored()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        var (number, offset) = InodeLocation(image, "/hello.txt");
        DiskImages.FlipByte(image.Image, offset + 0x10); // its mtime

        var result = await image.RestoreAsync();
        var error = Assert.Single(result.Errors);
        Assert.Contains($"/hello.txt: ", error);
        Assert.Contains($"inode {number}: checksum", error);
        Assert.False(File.Exists(Path.Combine(image.Target, "hello.txt")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(image.Source, "big.bin")), File.ReadAllBytes(Path.Combine(image.Target, "big.bin")));
    }

    [Fact]
    public async Task A_damaged_extent_index_node_is_reported_by_name()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-b", "4096"]);
        long node = ExtentIndexBlock(image, "/sparse.img");
        DiskImages.FlipByte(image.Image, node * 4096); // the node's magic

        var result = await image.RestoreAsync();
        var error = Assert.Single(result.Errors);
        Assert.Contains("/sparse.img: ", error);
        Assert.Contains("damaged extent tree: extent header in block", error);
        Assert.Contains("has magic 0xf3f5", error);
        Assert.False(File.Exists(Path.Combine(image.Target, "sparse.img")), "a half-restored file was left behind");
    }

    [Fact]
    public async Task An_extent_node_whose_checksum_fails_is_reported()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-b", "4096"]);
        long node = ExtentIndexBlock(image, "/sparse.img");
        DiskImages.FlipByte(image.Image, node * 4096 + 12 + 8); // a physical block number in the first entry

        var result = await image.RestoreAsync();
        Assert.Contains("checksum", Assert.Single(result.Errors));
    }

    [Fact]
    public async Task A_damaged_directory_block_fails_its_checksum_and_its_entries_are_skipped()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-b", "4096"]);
        long block = FirstBlock(image, "/many");
        DiskImages.FlipByte(image.Image, block * 4096 + 40);

        var result = await image.RestoreAsync();
        var error = Assert.Single(result.Errors);
        Assert.StartsWith("/many: ", error);
        Assert.Contains("checksum", error);
        Assert.True(File.Exists(Path.Combine(image.Target, "hello.txt")));
    }

    [Fact]
    public async Task Without_checksums_a_broken_record_length_in_a_directory_is_caught()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-b", "4096", "-O", "^metadata_csum"]);
        long block = FirstBlock(image, "/many");
        using (var f = new FileStream(image.Image, FileMode.Open)) // the first entry ("."): rec_len 0xFFF0
        {
            f.Position = block * 4096 + 4;
            f.Write([0xF0, 0xFF]);
        }

        var result = await image.RestoreAsync();
        var error = Assert.Single(result.Errors);
        Assert.True(error.Contains("damaged entry: record length 65520"), error);
    }

    [Fact]
    public async Task A_truncated_image_is_named_as_such()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        using (var f = new FileStream(image.Image, FileMode.Open)) f.SetLength(20 << 20);

        var e = await Assert.ThrowsAsync<CorruptFileSystemException>(() => image.RestoreAsync());
        Assert.Contains("but its volume holds only 20971520 bytes; truncated image?", e.Message);
    }

    [Fact]
    public async Task A_directory_linked_into_itself_is_reported_instead_of_looping()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        ExternalTool.Run("debugfs", "-w", "-R", "link /docs /docs/a/loop", image.Image);

        var result = await image.RestoreAsync();
        Assert.Contains(result.Errors, e => e.StartsWith("/docs/a/loop: directory inode") && e.Contains("linked from a second place"));
        Assert.True(File.Exists(Path.Combine(image.Target, "docs/a/b/c/deep.txt")));
    }

    /// <summary>
    /// Hundreds of random byte flips in the metadata of an image without checksums (so damage reaches
    /// the parsers instead of stopping at a checksum): reading everything either works or fails with
    /// a StrataException, never another exception, a hang or a runaway allocation.
    /// </summary>
    [Fact]
    public async Task Random_damage_to_metadata_gives_only_clear_errors()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-b", "1024", "-O", "^metadata_csum"]);
        byte[] bytes = File.ReadAllBytes(image.Image);
        var ranges = MetadataRanges(image);
        var random = new Random(7);
        int failures = 0;
        for (int round = 0; round < 300; round++)
        {
            var flips = new List<(int Offset, byte Old)>();
            for (int i = 0; i < 1 + random.Next(8); i++)
            {
                var (start, length) = ranges[random.Next(ranges.Count)];
                int at = (int)(start + random.NextInt64(length));
                flips.Add((at, bytes[at]));
                bytes[at] = (byte)random.Next(256);
            }
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await ReadEverythingAsync(new MemoryBlockSource(bytes), cts.Token);
            }
            catch (StrataException)
            {
                failures++;
            }
            catch (Exception e)
            {
                Assert.Fail($"round {round}, flips at {string.Join(", ", flips.Select(f => f.Offset))}: {e}");
            }
            for (int i = flips.Count - 1; i >= 0; i--) bytes[flips[i].Offset] = flips[i].Old;
        }
        Assert.True(failures > 0, "no damage was ever noticed");
    }

    /// <summary>Every directory listed, every inode read, every file, symlink and xattr read; in a budget of output bytes so a damaged size cannot make it run for hours.</summary>
    private static async Task ReadEverythingAsync(IBlockSource source, CancellationToken ct)
    {
        var fs = await Ext4FileSystem.OpenAsync(source, ct);
        var pending = new Stack<Ext4Inode>();
        var seen = new HashSet<uint>();
        pending.Push(await fs.ReadInodeAsync(Ext4FileSystem.RootInode, ct));
        long budget = 1L << 30;
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            if (!seen.Add(dir.Number)) continue;
            await foreach (var entry in fs.ReadDirectoryAsync(dir, ct))
            {
                var inode = await fs.ReadInodeAsync(entry.Inode, ct);
                await fs.ReadXattrsAsync(inode, ct);
                switch (inode.Kind)
                {
                    case FileKind.Directory: pending.Push(inode); break;
                    case FileKind.Symlink: await fs.ReadSymlinkAsync(inode, ct); break;
                    case FileKind.Regular:
                        await fs.ReadContentAsync(inode, (_, data, _) =>
                        {
                            budget -= data.Length;
                            if (budget < 0) throw new OperationCanceledException("read budget exhausted");
                            return ValueTask.CompletedTask;
                        }, ct);
                        break;
                }
            }
        }
    }

    private static (uint Number, long Offset) InodeLocation(Ext4TestImage image, string path)
    {
        var text = image.Debugfs($"imap {path}");
        var m = Regex.Match(text, @"Inode (\d+) is part of block group \d+\s+located at block (\d+), offset 0x([0-9a-f]+)");
        Assert.True(m.Success, text);
        int blockSize = int.Parse(Regex.Match(ExternalTool.Run("dumpe2fs", "-h", image.Image), @"Block size:\s+(\d+)").Groups[1].Value);
        return (uint.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value) * blockSize + Convert.ToInt64(m.Groups[3].Value, 16));
    }

    /// <summary>The block of the first index node of a file's extent tree (debugfs "ex": level 0/1 line, physical column).</summary>
    private static long ExtentIndexBlock(Ext4TestImage image, string path)
    {
        var m = Regex.Match(image.Debugfs($"ex {path}"), @"^\s*0/\s*1\s+1/\s*\d+\s+\d+\s*-\s*\d+\s+(\d+)", RegexOptions.Multiline);
        Assert.True(m.Success, "the file's extent tree has no index node");
        return long.Parse(m.Groups[1].Value);
    }

    /// <summary>Where block 0 of a file or directory is (debugfs "bmap").</summary>
    private static long FirstBlock(Ext4TestImage image, string path) =>
        long.Parse(Regex.Match(image.Debugfs($"bmap {path} 0"), @"^(\d+)\s*$", RegexOptions.Multiline).Groups[1].Value);

    /// <summary>Where the interesting metadata is: superblock, descriptors, the used part of inode table 0, and the blocks of every directory.</summary>
    private static List<(long Start, long Length)> MetadataRanges(Ext4TestImage image)
    {
        const int blockSize = 1024;
        var ranges = new List<(long, long)> { (1024, 1024), (2048, 1024) };
        var table = Regex.Match(ExternalTool.Run("dumpe2fs", image.Image), @"Inode table at (\d+)-");
        ranges.Add((long.Parse(table.Groups[1].Value) * blockSize, 600 * 256));
        foreach (var dir in new[] { "/", "/many", "/docs", "/docs/a", "/links", "/bin" })
            foreach (var b in image.Debugfs($"blocks {dir}").Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (long.TryParse(b, out long block)) ranges.Add((block * blockSize, blockSize));
        ranges.Add((ExtentIndexBlock(image, "/sparse.img") * blockSize, blockSize));
        return ranges;
    }
}
