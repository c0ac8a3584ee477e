using Strata.Errors;
using Strata.Images;
using Strata.Tests.TestSupport;
using Xunit.Abstractions;

namespace Strata.Tests.Images;

/// <summary>Raw files as disks: aligned blocks go past the page cache (O_DIRECT), everything else is buffered, and both read back the same.</summary>
public sealed class FileBlockDeviceTests(ITestOutputHelper output) : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly TempFolder _dir = new("blockdevice");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Aligned_blocks_large_blocks_and_an_odd_tail_all_read_back_exactly()
    {
        string path = _dir.Combine("disk.raw");
        await WriteAndReadBackAsync(path);
        if (TinyFileSystem.TypeOf(_dir.Path) is "ext4" or "xfs" or "btrfs")
        {
            await using var device = FileBlockDevice.Open(path, writable: false);
            Assert.True(device.IsDirect);
        }
    }

    [Fact]
    public async Task A_file_system_without_direct_io_gets_buffered_reads_and_writes()
    {
        using var ramfs = TinyFileSystem.TryMount(type: "ramfs");
        if (ramfs is null)
        {
            output.WriteLine("cannot mount a ramfs here; not run");
            return;
        }
        string path = Path.Combine(ramfs.Path, "disk.raw");
        await WriteAndReadBackAsync(path);
        await using var device = FileBlockDevice.Open(path, writable: true);
        Assert.False(device.IsDirect);
    }

    [Fact]
    public async Task Reading_past_the_end_of_a_file_that_shrank_names_the_file()
    {
        string path = _dir.Combine("disk.raw");
        await File.WriteAllBytesAsync(path, TestData.RandomBytes(4 * MiB, seed: 3));
        await using var device = FileBlockDevice.Open(path, writable: false);
        using (var shrink = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) RandomAccess.SetLength(shrink, 2 * MiB + 4096);

        var buffer = new byte[2 * MiB];
        var e = await Assert.ThrowsAsync<StrataException>(() => device.ReadAsync(MiB, buffer, CancellationToken.None));
        Assert.Contains(path, e.Message);
        Assert.Contains("shrank", e.Message);
    }

    [Fact]
    public async Task A_full_disk_is_reported_as_no_space_left_naming_the_target()
    {
        using var disk = TinyFileSystem.TryMount("2m");
        if (disk is null)
        {
            output.WriteLine("cannot mount a tmpfs here; not run");
            return;
        }
        string path = Path.Combine(disk.Path, "disk.raw");
        await using var device = FileBlockDevice.Create(path, 8 * MiB);

        var e = await Assert.ThrowsAsync<StrataException>(async () =>
        {
            for (int block = 0; block < 8; block++) await device.WriteAsync(block * (long)MiB, TestData.RandomBytes(MiB, seed: block), CancellationToken.None);
        });
        Assert.Contains(path, e.Message);
        Assert.Contains("no space left", e.Message);
    }

    /// <summary>
    /// Writes a 9 MiB + 1000 byte disk the way restores do (64 KiB blocks in any order, a 4 MiB block
    /// larger than the bounce buffer, a short tail), then reads it back in aligned and unaligned pieces.
    /// </summary>
    private static async Task WriteAndReadBackAsync(string path)
    {
        const int size = 9 * MiB + 1000;
        var expected = new byte[size];
        await using (var device = FileBlockDevice.Create(path, size))
        {
            foreach (int block in new[] { 3, 0, 7, 1 })
                await WriteAsync(device, expected, block * 65536L, TestData.RandomBytes(65536, seed: block));
            await WriteAsync(device, expected, 4 * MiB, TestData.RandomBytes(4 * MiB, seed: 40));
            await WriteAsync(device, expected, 9 * MiB, TestData.RandomBytes(1000, seed: 90));
            await device.FlushAsync(CancellationToken.None);
        }
        Assert.Equal(expected, await File.ReadAllBytesAsync(path));

        await using (var device = FileBlockDevice.Open(path, writable: false))
        {
            foreach (var (offset, length) in new[] { (0L, 9 * MiB), (4096L, 3 * MiB), (100L, 5000), (9L * MiB, 1000), (8L * MiB, MiB + 1000) })
            {
                var buffer = new byte[length];
                await device.ReadAsync(offset, buffer, CancellationToken.None);
                Assert.True(expected.AsSpan((int)offset, length).SequenceEqual(buffer), $"bytes {offset}..{offset + length} differ");
            }
        }
    }

    private static async Task WriteAsync(FileBlockDevice device, byte[] expected, long offset, byte[] data)
    {
        await device.WriteAsync(offset, data, CancellationToken.None);
        data.CopyTo(expected, (int)offset);
    }
}
