using Strata.Errors;
using Strata.Images;
using Strata.Snapshots;
using Strata.Tests.TestSupport;
using Xunit.Abstractions;
using static Strata.Tests.Images.ImageWorkspace;

namespace Strata.Tests.Images;

/// <summary>
/// Incremental restore: the target holds another state of the disk, and only blocks that differ
/// are fetched and written; from newer to older points and back, with the target's dirty bitmap
/// and without one (the target is hashed).
/// </summary>
public sealed class IncrementalRestoreTests(ITestOutputHelper output)
{
    private sealed record Point(Snapshot Snapshot, string Copy);

    /// <summary>A qcow2 disk with bitmap "b" and three CBT recovery points, each with a raw copy of the disk at that time.</summary>
    private static async Task<(string Disk, List<Point> Points)> ThreePointsAsync(ImageWorkspace ws)
    {
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 128 * MiB);
        Qemu.AddBitmap(disk, "b");
        var random = new Random(7);
        var points = new List<Point>();
        for (int i = 0; i < 3; i++)
        {
            Qemu.Write(disk, "qcow2", QemuCbtTests.RandomWrites(random, 128 * MiB, i == 0 ? 40 : 6));
            if (i == 2) Qemu.Zero(disk, "qcow2", 0, 2 * MiB);
            var snap = (await ws.BackupAsync(disk, cbt: "b")).Snapshot;
            var copy = ws.PathOf($"p{i}.raw");
            Qemu.ConvertToRaw(disk, copy);
            points.Add(new Point(snap, copy));
        }
        return (disk, points);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task With_the_target_s_bitmap_only_changed_and_dirty_blocks_are_written(int to)
    {
        await using var ws = await CreateAsync();
        var (disk, points) = await ThreePointsAsync(ws);
        // The disk moves on after its last backup; the bitmap records that too.
        Qemu.Write(disk, "qcow2", (90 * MiB, 256 << 10, 0x99));
        var result = await ws.RestoreAsync(points[to].Snapshot, disk, incremental: true, bitmap: "b");
        Assert.Equal("incremental-cbt", result.Mode);
        Assert.Equal(0, result.TargetBytesRead);
        Assert.True(Qemu.Identical(disk, "qcow2", points[to].Copy, "raw"));
        // Far less than the disk's data was written.
        Assert.True(result.BytesWritten + result.BytesZeroed < 16 * MiB, $"wrote {result.BytesWritten} + zeroed {result.BytesZeroed}");
        // And back to the newest point.
        var back = await ws.RestoreAsync(points[2].Snapshot, disk, incremental: true, bitmap: "b");
        Assert.Equal("incremental-cbt", back.Mode);
        Assert.True(Qemu.Identical(disk, "qcow2", points[2].Copy, "raw"));
    }

    [Fact]
    public async Task Without_a_bitmap_the_target_is_hashed_and_only_differing_blocks_are_fetched_in_both_directions()
    {
        await using var ws = await CreateAsync();
        var (_, points) = await ThreePointsAsync(ws);
        var target = ws.PathOf("target.raw");
        await ws.RestoreAsync(points[2].Snapshot, target);
        foreach (int to in new[] { 0, 2, 1, 0 })
        {
            var result = await ws.RestoreAsync(points[to].Snapshot, target, incremental: true);
            Assert.Equal("incremental-hash", result.Mode);
            Assert.Equal(File.ReadAllBytes(points[to].Copy), File.ReadAllBytes(target));
        }
        var noop = await ws.RestoreAsync(points[0].Snapshot, target, incremental: true);
        Assert.Equal(0, noop.BytesFetched);
        Assert.Equal(0, noop.BytesWritten + noop.BytesZeroed);
        Assert.True(noop.TargetBytesRead > 0);
    }

    [Fact]
    public async Task A_qcow2_target_without_a_usable_bitmap_falls_back_to_hashing_and_says_so()
    {
        await using var ws = await CreateAsync();
        var (disk, points) = await ThreePointsAsync(ws);
        Qemu.Run("qemu-img", "bitmap", "--remove", disk, "b");
        var result = await ws.RestoreAsync(points[0].Snapshot, disk, incremental: true, bitmap: "b");
        Assert.Equal("incremental-hash", result.Mode);
        Assert.Contains(ws.Notes, n => n.Contains("'b'") && n.Contains("hashing the target"));
        Assert.True(Qemu.Identical(disk, "qcow2", points[0].Copy, "raw"));
    }

    [Fact]
    public async Task A_restore_cancelled_midway_is_completed_by_the_next_and_the_bitmap_keeps_its_writes()
    {
        await using var ws = await CreateAsync();
        var (disk, points) = await ThreePointsAsync(ws);
        // The disk drifts far after its last backup, so that bringing it back takes many runs.
        Qemu.Write(disk, "qcow2", (16 * MiB, 96 * MiB, 0x5A));

        // As when the user presses Ctrl-C once a few runs are written: Strata's qemu-nbd is stopped
        // and saves the bitmap, which now also holds the restore's own writes.
        var restore = new ImageRestore(ws.Repo, points[0].Snapshot, new ImageRestoreOptions { Target = disk, Incremental = true, TargetBitmap = "b" });
        using var cancel = new CancellationTokenSource();
        var watcher = Task.Run(() =>
        {
            while (restore.Progress.BytesDone < 4 * MiB && !cancel.IsCancellationRequested) Thread.SpinWait(100);
            cancel.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => restore.RunAsync(cancel.Token));
        await watcher;
        Assert.True(restore.Progress.BytesDone < restore.Progress.BytesTotal, $"{restore.Progress.BytesDone} of {restore.Progress.BytesTotal} bytes");
        Assert.False(Qemu.Identical(disk, "qcow2", points[0].Copy, "raw"));

        // A backup of the half-restored disk sees every block the restore wrote: nothing escapes the bitmap.
        var halfway = ws.PathOf("halfway.raw");
        Qemu.ConvertToRaw(disk, halfway);
        var backup = await ws.BackupAsync(disk, cbt: "b");
        Assert.False(backup.FullRead);
        var restored = ws.PathOf("halfway-restored.raw");
        await ws.RestoreAsync(backup.Snapshot, restored);
        Assert.Equal(File.ReadAllBytes(halfway), File.ReadAllBytes(restored));

        // And the next restore finishes the job.
        var again = await ws.RestoreAsync(points[0].Snapshot, disk, incremental: true, bitmap: "b");
        Assert.Equal("incremental-cbt", again.Mode);
        Assert.True(Qemu.Identical(disk, "qcow2", points[0].Copy, "raw"));
    }

    [Fact]
    public async Task A_restore_stopped_by_a_full_disk_fails_clearly_and_the_next_writes_only_what_is_still_missing()
    {
        using var fs = TinyFileSystem.TryMount("12m");
        if (fs is null)
        {
            output.WriteLine("cannot mount a tmpfs here; not run");
            return;
        }
        await using var ws = await CreateAsync();
        var data = TestData.RandomBytes(32 << 20, seed: 5);
        var snap = (await ws.BackupAsync(ws.RawDisk("d.raw", 32 * MiB, (0, data)), name: "d")).Snapshot;
        // An empty sparse disk on a file system with room for a third of what the restore writes.
        var target = Path.Combine(fs.Path, "target.raw");
        using (var f = File.Create(target)) f.SetLength(32 * MiB);

        var e = await Assert.ThrowsAsync<StrataException>(() => ws.RestoreAsync(snap, target, incremental: true));
        Assert.Contains("no space left", e.Message);
        Assert.Contains(target, e.Message);

        fs.Resize("64m");
        var result = await ws.RestoreAsync(snap, target, incremental: true);
        Assert.Equal("incremental-hash", result.Mode);
        Assert.Equal(data, File.ReadAllBytes(target));
        // What the first run wrote stays written.
        Assert.InRange(result.BytesWritten, 1, 32 * MiB - 4 * MiB);
    }

    [Fact]
    public async Task Zero_blocks_become_holes_in_a_raw_target()
    {
        await using var ws = await CreateAsync();
        var empty = ws.RawDisk("empty.raw", 8 * MiB);
        var emptySnap = (await ws.BackupAsync(empty, name: "d")).Snapshot;
        var target = ws.RawDisk("target.raw", 8 * MiB, (0, Strata.Tests.TestSupport.TestData.RandomBytes(4 << 20)));
        var result = await ws.RestoreAsync(emptySnap, target, incremental: true);
        Assert.Equal(4 * MiB, result.BytesZeroed);
        Assert.Equal(0, result.BytesFetched);
        Assert.Equal(new byte[8 * MiB], File.ReadAllBytes(target));
        Assert.True(ImageBackupTests.AllocatedBytes(target) < 64 << 10);
    }

    [Fact]
    public async Task A_target_smaller_than_the_image_is_refused_and_left_alone()
    {
        await using var ws = await CreateAsync();
        var snap = (await ws.BackupAsync(ws.RawDisk("d.raw", 16 * MiB, (0, new byte[] { 1, 2, 3 })))).Snapshot;
        var small = ws.PathOf("small.qcow2");
        Qemu.CreateQcow2(small, 8 * MiB);
        Qemu.Write(small, "qcow2", (0, 65536, 0x42));
        var e = await Assert.ThrowsAsync<UsageException>(() => ws.RestoreAsync(snap, small));
        Assert.Contains("less than the image", e.Message);
        var raw = ws.RawDisk("small.raw", 8 * MiB, (0, new byte[] { 9 }));
        await Assert.ThrowsAsync<UsageException>(() => ws.RestoreAsync(snap, raw, incremental: true));
        Assert.Equal(9, File.ReadAllBytes(raw)[0]);
    }

    [Fact]
    public async Task A_full_restore_never_overwrites_an_existing_raw_file()
    {
        await using var ws = await CreateAsync();
        var snap = (await ws.BackupAsync(ws.RawDisk("d.raw", MiB))).Snapshot;
        var existing = ws.RawDisk("existing.raw", MiB, (0, new byte[] { 7 }));
        var e = await Assert.ThrowsAsync<UsageException>(() => ws.RestoreAsync(snap, existing));
        Assert.Contains("--incremental", e.Message);
        Assert.Equal(7, File.ReadAllBytes(existing)[0]);
    }
}
