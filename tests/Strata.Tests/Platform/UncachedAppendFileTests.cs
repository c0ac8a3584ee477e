using Strata.Platform;
using Strata.Tests.TestSupport;
using Xunit.Abstractions;

namespace Strata.Tests.Platform;

public sealed class UncachedAppendFileTests(ITestOutputHelper output) : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(MiB - 1)]
    [InlineData(MiB)]
    [InlineData(MiB + 1)]
    [InlineData(5 * MiB + 12345)]
    public void The_file_holds_exactly_the_appended_bytes(int length)
    {
        var data = RandomBytes(length, seed: length);
        string path = _dir.Combine("pack");

        using (var file = UncachedAppendFile.CreateNew(path))
        {
            // Appends of every size: tiny ones, ones that straddle the 1 MiB buffers, one larger than a buffer.
            var random = new Random(length);
            for (int at = 0; at < length;)
            {
                int n = Math.Min(length - at, random.Next(4) == 0 ? random.Next(2 * MiB) : random.Next(1, 70_000));
                file.Append(data.AsSpan(at, n));
                at += n;
            }
            Assert.Equal(length, file.Length);
            file.Complete();
        }

        Assert.Equal(data, File.ReadAllBytes(path));
    }

    [Fact]
    public void Writes_bypass_the_page_cache_on_a_disk_file_system()
    {
        using var file = UncachedAppendFile.CreateNew(_dir.Combine("pack"));
        file.Append(RandomBytes(3 * MiB, seed: 1));
        file.Complete();

        // The temp directory is on the machine's disk (ext4 here); every file system Strata's repositories
        // usually live on takes O_DIRECT. Where it does not, the next test's fallback applies.
        output.WriteLine($"direct: {file.IsDirect} in {_dir.Path}");
        if (TinyFileSystem.TypeOf(_dir.Path) is "ext4" or "xfs" or "btrfs") Assert.True(file.IsDirect);
    }

    [Fact]
    public void A_file_system_without_direct_io_gets_buffered_writes()
    {
        using var ramfs = TinyFileSystem.TryMount(type: "ramfs");
        if (ramfs is null)
        {
            output.WriteLine("cannot mount a ramfs here; not run");
            return;
        }
        var data = RandomBytes(2 * MiB + 100, seed: 2);
        string path = Path.Combine(ramfs.Path, "pack");

        using (var file = UncachedAppendFile.CreateNew(path))
        {
            file.Append(data);
            file.Complete();
            Assert.False(file.IsDirect);
        }

        Assert.Equal(data, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_full_disk_is_reported_as_no_space_and_the_file_can_still_be_disposed()
    {
        using var disk = TinyFileSystem.TryMount("2m");
        if (disk is null)
        {
            output.WriteLine("cannot mount a tmpfs here; not run");
            return;
        }
        string path = Path.Combine(disk.Path, "pack");
        var file = UncachedAppendFile.CreateNew(path);

        var e = Assert.ThrowsAny<IOException>(() =>
        {
            // The failing write happens behind the appends; it surfaces at the next append or at Complete.
            for (int i = 0; i < 8; i++) file.Append(RandomBytes(MiB, seed: i));
            file.Complete();
        });

        Assert.Contains("no space left", e.Message, StringComparison.OrdinalIgnoreCase);
        file.Dispose();
        File.Delete(path);
        Assert.Empty(Directory.GetFiles(disk.Path));
    }

    [Fact]
    public void A_sparse_file_keeps_zero_blocks_as_holes_and_counts_only_what_it_wrote()
    {
        string path = _dir.Combine("disk.img");
        var head = RandomBytes(5000, seed: 3);           // ends inside the second 4 KiB block
        var tail = RandomBytes(3 * 4096 + 10, seed: 4);  // the file ends mid-block
        using (var handle = Posix.CreateExclusive(path, Octal.Of("600")))
        using (var file = UncachedAppendFile.Open(handle, path, sparse: true))
        {
            file.Append(head);
            file.Append(new byte[2 * MiB]);  // zeros that arrive as data
            file.AppendZeros(7L * MiB + 123); // zeros that arrive as a count (zero blobs, holes)
            file.Append(tail);
            file.Complete();

            // Written: the two blocks of the head, and the tail's blocks from the one it starts in up to the end of the file.
            long tailStart = head.Length + 9L * MiB + 123, end = tailStart + tail.Length;
            Assert.Equal(2 * 4096 + (end - tailStart / 4096 * 4096), file.BytesWritten);
            Assert.Equal(end, file.Length);
            // The caller's handle stays open and usable for unaligned writes: it is out of direct mode.
            RandomAccess.Write(handle, new byte[] { 9 }, 1);
        }

        var expected = new byte[head.Length + 9 * MiB + 123 + tail.Length];
        head.CopyTo(expected, 0);
        tail.CopyTo(expected, expected.Length - tail.Length);
        expected[1] = 9;
        Assert.Equal(expected, File.ReadAllBytes(path));
        using var read = File.OpenHandle(path);
        Assert.Equal(0, Posix.SeekData(read, 0));
        Assert.InRange(Posix.SeekHole(read, 0), 8192, 8192 + 4096);
        Assert.True(Posix.LStat(path).Blocks * 512 < 64 * 1024, $"{Posix.LStat(path).Blocks} blocks allocated for {expected.Length} bytes");
    }

    [Fact]
    public void A_file_of_only_zeros_is_all_hole_with_its_full_size()
    {
        string path = _dir.Combine("zeros");
        using (var handle = Posix.CreateExclusive(path, Octal.Of("600")))
        using (var file = UncachedAppendFile.Open(handle, path, sparse: true))
        {
            file.AppendZeros(3 * MiB + 1);
            file.Append(new byte[100]);
            file.Complete();
            Assert.Equal(0, file.BytesWritten);
        }

        Assert.Equal(3 * MiB + 101, new FileInfo(path).Length);
        Assert.Equal(0, Posix.LStat(path).Blocks);
    }

    [Fact]
    public void Nothing_can_be_appended_after_Complete()
    {
        using var file = UncachedAppendFile.CreateNew(_dir.Combine("pack"));
        file.Append([1, 2, 3]);
        file.Complete();

        Assert.Throws<InvalidOperationException>(() => file.Append([4]));
        Assert.Equal(3, new FileInfo(_dir.Combine("pack")).Length);
    }

    [Fact]
    public void An_existing_file_is_never_overwritten()
    {
        string path = _dir.WriteFile("pack", "kept");

        Assert.Throws<IOException>(() => UncachedAppendFile.CreateNew(path));
        Assert.Equal("kept", File.ReadAllText(path));
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
