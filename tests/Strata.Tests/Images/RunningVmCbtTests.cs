using Strata.Errors;
using Strata.Images;
using Strata.Images.Qmp;
using Strata.Snapshots;
using Strata.Tests.TestSupport;
using static Strata.Tests.Images.ImageWorkspace;

namespace Strata.Tests.Images;

/// <summary>
/// Changed-block tracking of a running VM through its QMP monitor, against a real
/// qemu-system-x86_64: writes go through QEMU (qemu-io over HMP, as a guest's would), Strata backs up
/// through QEMU's own point-in-time NBD export, and every recovery point restored to raw is compared
/// with qemu-img compare against a raw file that received the same writes.
/// </summary>
public sealed class RunningVmCbtTests
{
    private const long DiskSize = 64 * MiB;

    [Fact]
    public async Task A_running_VMs_bitmap_is_rotated_after_each_backup()
    {
        await using var ws = await CreateAsync();
        var (disk, expected) = NewDisk(ws);
        await using var vm = await QmpVm.StartAsync(disk);
        await vm.AddBitmapAsync("cbt0");
        var cli = new CliRunner(ws.RepositoryPath, TestRepositories.Password);

        await WriteAsync(vm, expected, (0, 4 * MiB, 0x11));
        var first = cli.Run("image", "backup", vm.Source, "--cbt", "qemu-bitmap:cbt0", "--name", "vm", "--json").ShouldSucceed();
        Assert.Equal(4 * MiB, (long)first.Summary["bytes_read"]!);
        Assert.Contains("first backup of this disk", first.StdErr);
        var atFirst = Copy(expected, ws.PathOf("at-first.raw"));

        await WriteAsync(vm, expected, (1 * MiB, 4096, 0x22), (40 * MiB, 128 << 10, 0x33));
        var second = cli.Run("image", "backup", vm.Source, "--cbt", "qemu-bitmap:cbt0", "--name", "vm", "--json").ShouldSucceed();
        Assert.True((bool)second.Summary["cbt_used"]!);
        Assert.Equal(3 * 65536, (long)second.Summary["bytes_read"]!);   // only the later writes, in 64 KiB clusters
        var secondId = (string)second.Summary["snapshot_id"]!;

        // The user's name is kept and starts afresh; a receipt names the snapshot it counts from; nothing else is left in QEMU.
        Assert.Equal(["cbt0", "cbt0.strata-at-" + secondId], (await vm.BitmapsAsync()).Select(b => b.Name).Order(StringComparer.Ordinal));
        Assert.Equal(0, await vm.DirtyBytesAsync("cbt0"));
        Assert.True((await vm.BitmapsAsync()).All(b => b.Persistent));
        Assert.Empty(await vm.LeftoversAsync());

        var third = cli.Run("image", "backup", vm.Source, "--cbt", "qemu-bitmap:cbt0", "--name", "vm", "--json").ShouldSucceed();
        Assert.Equal(0, (long)third.Summary["bytes_read"]!);

        var snapshots = await ImageSnapshotsOf(ws, "vm");
        await AssertRestoresToAsync(ws, snapshots[0], atFirst);
        await AssertRestoresToAsync(ws, snapshots[1], expected);
        await AssertRestoresToAsync(ws, snapshots[2], expected);
    }

    [Fact]
    public async Task A_running_VMs_backup_is_the_disk_at_the_instant_the_backup_began()
    {
        await using var ws = await CreateAsync();
        var (disk, expected) = NewDisk(ws);
        await using var vm = await QmpVm.StartAsync(disk);
        await vm.AddBitmapAsync("cbt0");
        await WriteAsync(vm, expected, (0, 2 * MiB, 0x11));
        var atStart = Copy(expected, ws.PathOf("at-start.raw"));

        await using (var session = await QmpBackupSession.OpenAsync(QmpSource.Parse(vm.Source), "cbt0", default))
        {
            await using (var device = await session.ExportAsync(default))
            {
                // The guest keeps writing while the backup reads: over data the export must still show as it was, and elsewhere.
                await WriteAsync(vm, expected, (0, 64 << 10, 0x44), (10 * MiB, 64 << 10, 0x55));
                var seen = ws.PathOf("seen.raw");
                await using (var copy = FileBlockDevice.Open(ws.RawDisk("seen.raw", DiskSize), writable: true))
                {
                    var buffer = new byte[MiB];
                    for (long offset = 0; offset < DiskSize; offset += buffer.Length)
                    {
                        await device.ReadAsync(offset, buffer, default);
                        await copy.WriteAsync(offset, buffer, default);
                    }
                }
                Assert.True(Qemu.Identical(seen, "raw", atStart, "raw"), "the export is not the disk as it was when the backup began");
                // The frozen bitmap is what was written before the point in time, nothing later.
                Assert.Equal([new ImageExtent(0, 2 * MiB)], await device.DirtyExtentsAsync("cbt0", default));
            }
            await session.AbandonAsync(new IOException("the test stops here"));
        }
        // Nothing is lost: the bitmap records again and holds the writes before and during the attempt.
        Assert.Equal(["cbt0"], (await vm.BitmapsAsync()).Select(b => b.Name));
        Assert.True((await vm.BitmapsAsync()).Single().Recording);
        Assert.Equal(2 * MiB + 65536, await vm.DirtyBytesAsync("cbt0"));
        Assert.Empty(await vm.LeftoversAsync());
    }

    [Fact]
    public async Task A_failed_backup_of_a_running_VM_loses_no_dirty_blocks()
    {
        await using var ws = await CreateAsync();
        var (disk, expected) = NewDisk(ws);
        await using var vm = await QmpVm.StartAsync(disk);
        await BackUpOnceThenWriteAgainAsync(ws, vm, expected);

        // A backup whose reading breaks off midway (the NBD connection dies), while the guest writes elsewhere.
        await using (var session = await QmpBackupSession.OpenAsync(QmpSource.Parse(vm.Source), "cbt0", default))
        {
            await using (var device = await session.ExportAsync(default))
            {
                await device.ReadAsync(2 * MiB, new byte[65536], default);
                await WriteAsync(vm, expected, (30 * MiB, 65536, 0x33));
            }
            Assert.Null(await session.AbandonAsync(new IOException("NBD connection reset")));
        }
        // Undone at once, not only by the next run: the bitmap records again and holds both writes.
        var cbt0 = (await vm.BitmapsAsync()).Single(b => b.Name == "cbt0");
        Assert.True(cbt0.Recording);
        Assert.Equal(2 * 65536, cbt0.Count);
        Assert.DoesNotContain(await vm.BitmapsAsync(), b => b.Name.EndsWith(".strata-next", StringComparison.Ordinal));
        Assert.Empty(await vm.LeftoversAsync());

        var next = await ws.BackupAsync(vm.Source, cbt: "cbt0", name: "vm");
        Assert.False(next.FullRead);
        Assert.Equal(2 * 65536, next.BytesRead);   // the write before the failed run and the one during it
        await AssertRestoresToAsync(ws, next.Snapshot, expected);
    }

    [Fact]
    public async Task A_backup_killed_midway_leaves_nothing_behind_in_QEMU_and_the_next_reads_every_write()
    {
        await using var ws = await CreateAsync();
        var (disk, expected) = NewDisk(ws);
        await using var vm = await QmpVm.StartAsync(disk);
        await BackUpOnceThenWriteAgainAsync(ws, vm, expected);

        // As if Strata were killed while reading: no teardown, no undo, just the QMP connection closing.
        var session = await QmpBackupSession.OpenAsync(QmpSource.Parse(vm.Source), "cbt0", default);
        var device = await session.ExportAsync(default);
        await WriteAsync(vm, expected, (30 * MiB, 65536, 0x33));
        await session.DisposeAsync();
        Assert.NotEmpty(await vm.LeftoversAsync());

        var next = await ws.BackupAsync(vm.Source, cbt: "cbt0", name: "vm");
        Assert.False(next.FullRead);
        Assert.Equal(2 * 65536, next.BytesRead);
        Assert.Empty(await vm.LeftoversAsync());
        Assert.Equal(["cbt0", "cbt0.strata-at-" + next.Snapshot.Id], (await vm.BitmapsAsync()).Select(b => b.Name).Order(StringComparer.Ordinal));
        await AssertRestoresToAsync(ws, next.Snapshot, expected);
        await device.DisposeAsync();
    }

    [Fact]
    public async Task QEMU_dying_mid_backup_saves_no_snapshot_and_the_next_backup_succeeds()
    {
        await using var ws = await CreateAsync();
        var (disk, expected) = NewDisk(ws);
        var vm = await QmpVm.StartAsync(disk);
        try
        {
            await vm.AddBitmapAsync("cbt0");
            await WriteAsync(vm, expected, (0, 8 * MiB, 0x11));
            await vm.QuitAsync();   // the bitmap is saved into the qcow2 file
            await vm.DisposeAsync();
            vm = await QmpVm.StartAsync(disk);
            await ws.BackupAsync(vm.Source, cbt: "cbt0", name: "vm");
            await WriteAsync(vm, expected, (3 * MiB, 65536, 0x22));

            // The first note comes once the export is up and before any block is read: QEMU crashes right then.
            var backup = new ImageBackup(ws.Repo, new ImageBackupOptions { Source = vm.Source, CbtBitmap = "cbt0", Name = "vm", Host = "test-host", BlockSize = 128 << 10 })
            {
                OnNote = _ => vm.Kill(),
            };
            var error = await Assert.ThrowsAnyAsync<StrataException>(() => backup.RunAsync());
            Assert.Contains("went away during the backup", error.Message);
            Assert.Single(await ImageSnapshotsOf(ws, "vm"));

            await vm.DisposeAsync();
            vm = await QmpVm.StartAsync(disk);
            var recovered = await ws.BackupAsync(vm.Source, cbt: "cbt0", name: "vm");
            // A crash leaves the persistent bitmap marked in use: it is not trusted, so this run reads everything.
            Assert.True(recovered.FullRead);
            Assert.Contains(ws.Notes, n => n.Contains("not saved cleanly"));
            await AssertRestoresToAsync(ws, recovered.Snapshot, expected);

            await WriteAsync(vm, expected, (50 * MiB, 65536, 0x33));
            var after = await ws.BackupAsync(vm.Source, cbt: "cbt0", name: "vm");
            Assert.False(after.FullRead);
            Assert.Equal(65536, after.BytesRead);
            await AssertRestoresToAsync(ws, after.Snapshot, expected);
        }
        finally
        {
            await vm.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_running_VM_without_the_named_bitmap_is_read_whole_and_the_bitmap_is_started()
    {
        await using var ws = await CreateAsync();
        var (disk, expected) = NewDisk(ws);
        await using var vm = await QmpVm.StartAsync(disk);
        await WriteAsync(vm, expected, (0, 2 * MiB, 0x11));
        var first = await ws.BackupAsync(vm.Source, cbt: "cbt0", name: "vm");
        Assert.True(first.FullRead);
        Assert.Contains(ws.Notes, n => n.Contains("dirty bitmap 'cbt0' does not exist"));
        Assert.Contains("cbt0", (await vm.BitmapsAsync()).Select(b => b.Name));

        await WriteAsync(vm, expected, (5 * MiB, 65536, 0x22));
        var second = await ws.BackupAsync(vm.Source, cbt: "cbt0", name: "vm");
        Assert.False(second.FullRead);
        Assert.Equal(65536, second.BytesRead);
        await AssertRestoresToAsync(ws, second.Snapshot, expected);
    }

    [Fact]
    public async Task A_missing_or_dead_QMP_socket_is_one_clear_error()
    {
        await using var ws = await CreateAsync();
        var missing = await Assert.ThrowsAsync<QmpConnectionException>(() => ws.BackupAsync($"qmp://{ws.PathOf("none.sock")}?node=drive0", cbt: "cbt0"));
        Assert.Contains("no QMP socket at", missing.Message);

        // A socket file nobody listens on, as a QEMU that was killed leaves behind.
        var stale = ws.PathOf("stale.sock");
        using var bound = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        bound.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(stale));
        var refused = await Assert.ThrowsAsync<QmpConnectionException>(() => ws.BackupAsync($"qmp://{stale}?node=drive0"));
        Assert.Contains("has QEMU exited", refused.Message);

        var (disk, _) = NewDisk(ws);
        await using var vm = await QmpVm.StartAsync(disk);
        var unknown = await Assert.ThrowsAsync<UsageException>(() => ws.BackupAsync($"qmp://{vm.QmpSocket}?node=nosuch"));
        Assert.Contains("no block node or drive 'nosuch'", unknown.Message);
        Assert.Contains("disk0", unknown.Message);
    }

    private static (string Disk, string Expected) NewDisk(ImageWorkspace ws)
    {
        var disk = ws.PathOf($"vm-{Guid.NewGuid():N}.qcow2");
        Qemu.CreateQcow2(disk, DiskSize);
        return (disk, ws.RawDisk($"expected-{Guid.NewGuid():N}.raw", DiskSize));
    }

    /// <summary>Bitmap cbt0 added, 8 MiB written and backed up with it, then 64 KiB more written at 2 MiB.</summary>
    private static async Task BackUpOnceThenWriteAgainAsync(ImageWorkspace ws, QmpVm vm, string expected)
    {
        await vm.AddBitmapAsync("cbt0");
        await WriteAsync(vm, expected, (0, 8 * MiB, 0x11));
        await ws.BackupAsync(vm.Source, cbt: "cbt0", name: "vm");
        await WriteAsync(vm, expected, (2 * MiB, 65536, 0x22));
    }

    /// <summary>Writes through the VM and the same bytes into the raw file that models the disk.</summary>
    private static async Task WriteAsync(QmpVm vm, string expected, params (long Offset, long Length, byte Pattern)[] writes)
    {
        await vm.WriteAsync(writes);
        foreach (var (offset, length, pattern) in writes)
            WriteAt(expected, offset, Enumerable.Repeat(pattern, (int)length).ToArray());
    }

    private static string Copy(string from, string to)
    {
        File.Copy(from, to);
        return to;
    }

    private static async Task<List<Snapshot>> ImageSnapshotsOf(ImageWorkspace ws, string name)
    {
        using var repo = await TestRepositories.OpenAsync(ws.RepositoryPath);
        return (await repo.ListSnapshotsAsync(default)).Where(s => s.Image?.Name == name).OrderBy(s => s.Time).ToList();
    }

    private static async Task AssertRestoresToAsync(ImageWorkspace ws, Snapshot snapshot, string expected)
    {
        var target = ws.PathOf($"restored-{Guid.NewGuid():N}.raw");
        await ws.RestoreAsync(snapshot, target);
        Assert.True(Qemu.Identical(target, "raw", expected, "raw"), $"snapshot {snapshot.Id.ToShortString()} does not restore to the disk as it was");
        File.Delete(target);
    }
}
