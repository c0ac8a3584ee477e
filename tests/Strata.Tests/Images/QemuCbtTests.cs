using Strata.Images;
using Strata.Snapshots;
using static Strata.Tests.Images.ImageWorkspace;

namespace Strata.Tests.Images;

/// <summary>
/// Changed-block tracking with qemu persistent dirty bitmaps, end to end with the real qemu tools:
/// qemu-io writes, Strata backs up through its own NBD client and a private qemu-nbd, and every
/// recovery point restored to raw is compared with qemu-img compare against the disk as it was.
/// </summary>
public sealed class QemuCbtTests
{
    [Fact]
    public async Task Every_point_of_a_cbt_chain_restores_to_exactly_the_disk_at_that_time()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 256 * MiB);
        Qemu.AddBitmap(disk, "cbt0");
        var random = new Random(42);
        var points = new List<(Snapshot Snapshot, string Copy)>();
        for (int round = 0; round < 4; round++)
        {
            Qemu.Write(disk, "qcow2", RandomWrites(random, 256 * MiB, count: round == 0 ? 30 : 8));
            var result = await ws.BackupAsync(disk, cbt: "cbt0");
            Assert.Equal(round == 0, result.FullRead);
            var copy = ws.PathOf($"at-{round}.raw");
            Qemu.ConvertToRaw(disk, copy);
            points.Add((result.Snapshot, copy));
        }
        Assert.Contains(ws.Notes, n => n.Contains("first backup of this disk"));
        // The bitmap was rotated: the name is kept, a receipt names the last snapshot, nothing else is left behind.
        Assert.Equal(["cbt0", "cbt0.strata-at-" + points[^1].Snapshot.Id], Qemu.Bitmaps(disk).Order(StringComparer.Ordinal));

        foreach (var (snapshot, copy) in points)
        {
            var target = ws.PathOf($"restored-{snapshot.Id.ToShortString()}.raw");
            await ws.RestoreAsync(snapshot, target);
            Assert.True(Qemu.Identical(target, "raw", copy, "raw"), $"snapshot {snapshot.Id.ToShortString()} does not restore to the disk as it was");
        }
    }

    [Fact]
    public async Task A_qcow2_on_a_file_system_without_direct_io_is_served_buffered_for_backup_and_restore()
    {
        // qemu-nbd runs with --cache none where it can; ramfs refuses O_DIRECT, so there it must not be asked for.
        using var ramfs = TestSupport.TinyFileSystem.TryMount(type: "ramfs");
        if (ramfs is null) return;
        await using var ws = await CreateAsync();
        var disk = Path.Combine(ramfs.Path, "vm.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        Qemu.Write(disk, "qcow2", (MiB, 4 * MiB, 0x11));
        Qemu.AddBitmap(disk, "cbt0");
        var first = await ws.BackupAsync(disk, cbt: "cbt0");
        var atFirst = ws.PathOf("at-first.raw");
        Qemu.ConvertToRaw(disk, atFirst);
        Qemu.Write(disk, "qcow2", (2 * MiB, 64 << 10, 0x22), (40 * MiB, MiB, 0x33));
        var second = await ws.BackupAsync(disk, cbt: "cbt0");
        Assert.False(second.FullRead);
        Assert.Equal(MiB + (64 << 10), second.BytesRead);

        var back = await ws.RestoreAsync(first.Snapshot, disk, incremental: true, bitmap: "cbt0");
        Assert.Equal("incremental-cbt", back.Mode);
        Assert.True(Qemu.Identical(disk, "qcow2", atFirst, "raw"), "the qcow2 on ramfs was not brought back to the first point");
    }

    [Fact]
    public async Task A_cbt_backup_reads_only_the_dirty_clusters()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 128 * MiB);
        Qemu.Write(disk, "qcow2", (0, 32 * MiB, 0x5a));
        Qemu.AddBitmap(disk, "b");
        var full = await ws.BackupAsync(disk, cbt: "b");
        Assert.Equal(32 * MiB, full.BytesRead);
        Qemu.Write(disk, "qcow2", (10 * MiB + 100, 10, 0x01), (100 * MiB, 128 << 10, 0x02));
        var incremental = await ws.BackupAsync(disk, cbt: "b");
        Assert.False(incremental.FullRead);
        Assert.Equal(3 * 65536, incremental.BytesRead);
        Assert.Equal(3 * 65536, incremental.BytesChanged);
        var changes = await ImageSnapshots.LoadChangesAsync(ws.Repo, incremental.Snapshot, default);
        Assert.Equal([new ImageExtent(10 * MiB, 65536), new ImageExtent(100 * MiB, 128 << 10)], changes);

        var nothing = await ws.BackupAsync(disk, cbt: "b");
        Assert.Equal(0, nothing.BytesRead);
        Assert.Equal(0, nothing.BytesChanged);
    }

    [Fact]
    public async Task Property_cbt_backup_and_restore_equal_a_full_backup_and_restore_byte_for_byte()
    {
        for (int seed = 1; seed <= 4; seed++)
        {
            await using var ws = await CreateAsync();
            var random = new Random(seed);
            var disk = ws.PathOf("vm.qcow2");
            long size = (32 + random.Next(32)) * MiB + random.Next(4) * 4096;
            Qemu.CreateQcow2(disk, size);
            Qemu.AddBitmap(disk, "b");
            Snapshot? lastCbt = null, lastFull = null;
            for (int round = 0; round < 3; round++)
            {
                Qemu.Write(disk, "qcow2", RandomWrites(random, size, count: 1 + random.Next(12)));
                if (random.Next(3) == 0) Qemu.Zero(disk, "qcow2", random.Next((int)(size / MiB)) * MiB, 65536 * (1 + random.Next(8)));
                lastCbt = (await ws.BackupAsync(disk, cbt: "b", name: "with-cbt")).Snapshot;
                lastFull = (await ws.BackupAsync(disk, name: "without-cbt")).Snapshot;
            }
            var a = ws.PathOf("cbt.raw");
            var b = ws.PathOf("full.raw");
            await ws.RestoreAsync(lastCbt!, a);
            await ws.RestoreAsync(lastFull!, b);
            Assert.Equal(File.ReadAllBytes(b), File.ReadAllBytes(a));
            var now = ws.PathOf("now.raw");
            Qemu.ConvertToRaw(disk, now);
            Assert.True(Qemu.Identical(a, "raw", now, "raw"), $"seed {seed}");
        }
    }

    [Fact]
    public async Task A_missing_bitmap_means_a_full_read_said_so_and_the_bitmap_is_created_for_next_time()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        Qemu.Write(disk, "qcow2", (0, 4 * MiB, 0x11));
        var first = await ws.BackupAsync(disk, cbt: "b");
        Assert.True(first.FullRead);
        Assert.Contains(ws.Notes, n => n.Contains("'b' does not exist"));
        Assert.Contains("b", Qemu.Bitmaps(disk));
        Qemu.Write(disk, "qcow2", (8 * MiB, 4096, 0x22));
        var second = await ws.BackupAsync(disk, cbt: "b");
        Assert.False(second.FullRead);
        Assert.Equal(65536, second.BytesRead);
    }

    [Fact]
    public async Task A_bitmap_reset_behind_strata_s_back_means_a_full_read()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        Qemu.AddBitmap(disk, "b");
        Qemu.Write(disk, "qcow2", (0, 4 * MiB, 0x11));
        await ws.BackupAsync(disk, cbt: "b");
        // Someone removes and re-creates the bitmap (or another tool rotates it): its receipt no longer matches.
        Qemu.Run("qemu-img", "bitmap", "--remove", disk, "b");
        foreach (var receipt in Qemu.Bitmaps(disk)) Qemu.Run("qemu-img", "bitmap", "--remove", disk, receipt);
        Qemu.Write(disk, "qcow2", (20 * MiB, 4096, 0x22));
        Qemu.AddBitmap(disk, "b");
        ws.Notes.Clear();
        var second = await ws.BackupAsync(disk, cbt: "b");
        Assert.True(second.FullRead);
        Assert.Contains(ws.Notes, n => n.Contains("not started by a Strata backup"));
        var target = ws.PathOf("r.raw");
        await ws.RestoreAsync(second.Snapshot, target);
        var now = ws.PathOf("now.raw");
        Qemu.ConvertToRaw(disk, now);
        Assert.True(Qemu.Identical(target, "raw", now, "raw"));
    }

    [Fact]
    public async Task A_backup_interrupted_mid_rotation_loses_no_writes()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        Qemu.AddBitmap(disk, "b");
        Qemu.Write(disk, "qcow2", (0, 2 * MiB, 0x11));
        var first = await ws.BackupAsync(disk, cbt: "b");
        // The state a run killed right after clearing NAME leaves: NAME empty, the next bitmap holding later writes.
        var rotation = new QemuBitmapRotation(disk, "b");
        Qemu.Run("qemu-img", "bitmap", "--add", "--enable", disk, rotation.NextName);
        Qemu.Run("qemu-img", "bitmap", "--clear", disk, "b");
        Qemu.Write(disk, "qcow2", (30 * MiB, 65536, 0x33));
        var second = await ws.BackupAsync(disk, cbt: "b");
        Assert.False(second.FullRead);
        Assert.Equal(65536, second.BytesChanged);
        Assert.DoesNotContain(rotation.NextName, Qemu.Bitmaps(disk));
        var target = ws.PathOf("r.raw");
        await ws.RestoreAsync(second.Snapshot, target);
        var now = ws.PathOf("now.raw");
        Qemu.ConvertToRaw(disk, now);
        Assert.True(Qemu.Identical(target, "raw", now, "raw"));
        Assert.NotEqual(first.Snapshot.Id, second.Snapshot.Id);
    }

    [Fact]
    public async Task A_qcow2_in_use_by_another_program_is_refused_saying_so_and_its_bitmaps_are_left_alone()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        Qemu.AddBitmap(disk, "b");
        Qemu.Write(disk, "qcow2", (0, MiB, 0x11));
        var first = await ws.BackupAsync(disk, cbt: "b");
        var bitmaps = Qemu.Bitmaps(disk);

        // As a running VM does: a writer holds the image's lock.
        using (new QemuNbdProcess(disk, "qcow2", readOnly: false))
        {
            foreach (var attempt in new Func<Task>[]
            {
                () => ws.BackupAsync(disk, cbt: "b"),
                () => ws.BackupAsync(disk),
                () => ws.RestoreAsync(first.Snapshot, disk, incremental: true),
            })
            {
                var e = await Assert.ThrowsAnyAsync<Strata.Errors.StrataException>(attempt);
                Assert.Contains(disk, e.Message);
                Assert.Contains("in use by another program", e.Message);
                Assert.DoesNotContain("qemu-img: qemu-img", e.Message);
            }
        }
        Assert.Equal(bitmaps, Qemu.Bitmaps(disk));
        Assert.Single(await ImageSnapshots.ListAsync(ws.Repo, default));
        // The holder was killed, leaving the bitmap unclean: the next backup reads whole, and works.
        var next = await ws.BackupAsync(disk, cbt: "b");
        await ws.AssertRestoresToAsync(next.Snapshot, disk, "qcow2");
    }

    [Fact]
    public async Task A_damaged_qcow2_is_refused_with_qemu_s_reason()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("bad.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        // The refcount table offset (header bytes 48-55) pointing nowhere sensible.
        using (var f = new FileStream(disk, FileMode.Open)) { f.Position = 48; f.Write([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); }
        var e = await Assert.ThrowsAnyAsync<Strata.Errors.StrataException>(() => ws.BackupAsync(disk));
        Assert.Contains($"qemu-nbd could not serve {disk}", e.Message);
        Assert.DoesNotContain("connection", e.Message);
    }

    /// <summary>Scattered writes of 512 B to 1 MiB with random patterns, inside the disk.</summary>
    internal static (long, long, byte)[] RandomWrites(Random random, long size, int count) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            long length = 512L << random.Next(12);
            long offset = random.NextInt64(0, (size - length) / 512) * 512;
            return (offset, length, (byte)random.Next(1, 256));
        }).ToArray();
}
