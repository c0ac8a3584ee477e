using Strata.Errors;
using Strata.Images;
using Strata.Tests.TestSupport;
using static Strata.Tests.Images.ImageWorkspace;

namespace Strata.Tests.Images;

/// <summary>Image backup of raw files: what is read, what is stored, what comes back.</summary>
public sealed class ImageBackupTests
{
    [Fact]
    public async Task Holes_are_not_read_and_zero_blocks_are_not_stored_yet_both_come_back_as_zeros()
    {
        await using var ws = await CreateAsync();
        var disk = ws.RawDisk("disk.raw", 64 * MiB, (5 * MiB, TestData.RandomBytes(300_000)), (40 * MiB, new byte[2 * MiB]));
        var result = await ws.BackupAsync(disk);
        // 300,000 bytes touch 5 blocks; the written zeros are read (they are allocated) but not stored.
        Assert.Equal(5 * 65536 + 2 * MiB, result.BytesRead);
        Assert.True(result.DataAdded < 400_000, $"stored {result.DataAdded}");
        var map = await ImageSnapshots.LoadMapAsync(ws.Repo, result.Snapshot, default);
        Assert.Equal(5, map.Blocks.Count(b => !b.IsZero));

        var target = ws.PathOf("restored.raw");
        var restore = await ws.RestoreAsync(result.Snapshot, target);
        Assert.Equal(File.ReadAllBytes(disk), File.ReadAllBytes(target));
        Assert.Equal(5 * 65536, restore.BytesWritten);
        // Sparse stays sparse: only the data blocks take space.
        Assert.True(new FileInfo(target).Length == 64 * MiB);
        Assert.True(AllocatedBytes(target) <= 1 * MiB, $"{AllocatedBytes(target)} bytes allocated");
    }

    [Fact]
    public async Task Without_a_bitmap_everything_is_read_but_only_changed_blocks_are_stored()
    {
        await using var ws = await CreateAsync();
        var disk = ws.RawDisk("disk.raw", 32 * MiB, (0, TestData.RandomBytes(8 << 20, seed: 3)));
        var first = await ws.BackupAsync(disk);
        WriteAt(disk, 3 * MiB + 10, TestData.RandomBytes(100, seed: 4));
        var second = await ws.BackupAsync(disk);
        Assert.Equal(8 * MiB, second.BytesRead);
        Assert.Equal(65536, second.BytesChanged);
        Assert.InRange(second.DataAdded, 65536, 65536 + 16_384 + 4096);
        Assert.Equal(first.Snapshot.Id, second.Snapshot.Parent);
        var changes = await ImageSnapshots.LoadChangesAsync(ws.Repo, second.Snapshot, default);
        Assert.Equal([new ImageExtent(3 * MiB, 65536)], changes);
        Assert.Equal(first.Snapshot.Id, second.Snapshot.Image!.ChangedSince);
    }

    [Fact]
    public async Task Identical_disks_deduplicate_with_each_other()
    {
        await using var ws = await CreateAsync();
        var data = TestData.RandomBytes(4 << 20, seed: 9);
        var a = await ws.BackupAsync(ws.RawDisk("a.raw", 16 * MiB, (0, data)));
        var b = await ws.BackupAsync(ws.RawDisk("b.raw", 16 * MiB, (8 * MiB, data)));
        Assert.True(a.DataAdded > 4 * MiB);
        Assert.True(b.DataAdded < 64 << 10, $"second disk added {b.DataAdded} bytes");
    }

    [Fact]
    public async Task A_source_that_grew_or_shrank_is_read_whole_and_restores_at_its_new_size()
    {
        await using var ws = await CreateAsync();
        var disk = ws.RawDisk("disk.raw", 8 * MiB, (MiB, TestData.RandomBytes((int)MiB, seed: 1)));
        await ws.BackupAsync(disk);
        File.AppendAllText(disk, "tail of a grown disk");
        var grown = await ws.BackupAsync(disk);
        Assert.Contains(ws.Notes, n => n.Contains("the image is now"));
        Assert.Equal(8 * MiB + 20, grown.Snapshot.Image!.Size);
        using (var f = new FileStream(disk, FileMode.Open)) f.SetLength(4 * MiB);
        var shrunk = await ws.BackupAsync(disk);
        Assert.Equal(4 * MiB, shrunk.Snapshot.Image!.Size);
        foreach (var (snap, name) in new[] { (grown.Snapshot, "g.raw"), (shrunk.Snapshot, "s.raw") })
        {
            var target = ws.PathOf(name);
            await ws.RestoreAsync(snap, target);
            Assert.Equal(snap.Image!.Size, new FileInfo(target).Length);
        }
        Assert.Equal(File.ReadAllBytes(disk), File.ReadAllBytes(ws.PathOf("s.raw")));
    }

    [Fact]
    public async Task Cbt_on_a_raw_file_is_refused_with_the_reason()
    {
        await using var ws = await CreateAsync();
        var e = await Assert.ThrowsAsync<UsageException>(() => ws.BackupAsync(ws.RawDisk("d.raw", MiB), cbt: "b0"));
        Assert.Contains("needs a qcow2 image, a running VM (qmp://) or an NBD export", e.Message);
    }

    [Fact]
    public async Task A_directory_or_a_missing_source_is_a_usage_error()
    {
        await using var ws = await CreateAsync();
        await Assert.ThrowsAsync<UsageException>(() => ws.BackupAsync(ws.PathOf("")));
        await Assert.ThrowsAsync<UsageException>(() => ws.BackupAsync(ws.PathOf("missing.raw")));
    }

    internal static long AllocatedBytes(string path)
    {
        var output = Qemu.Run("stat", "-c", "%b %B", path).Trim().Split(' ');
        return long.Parse(output[0]) * long.Parse(output[1]);
    }
}
