using Strata.Images;
using Strata.Nbd;
using Strata.Snapshots;
using Strata.Tests.TestSupport;
using static Strata.Tests.Images.ImageWorkspace;

namespace Strata.Tests.Images;

/// <summary>Backing up NBD exports that someone else serves (a running VM's QEMU, here qemu-nbd).</summary>
public sealed class NbdSourceTests
{
    [Fact]
    public async Task An_nbd_export_with_a_dirty_bitmap_is_backed_up_reading_only_dirty_blocks()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        Qemu.Write(disk, "qcow2", (0, 8 * MiB, 0x10));
        Qemu.AddBitmap(disk, "live");
        Snapshot first;
        using (var server = new QemuNbdProcess(disk, "qcow2", readOnly: true, "live"))
        {
            var result = await ws.BackupAsync(server.Url, cbt: "live", name: "vm1");
            Assert.True(result.FullRead);
            Assert.Equal(8 * MiB, result.BytesRead);
            first = result.Snapshot;
        }
        Qemu.Write(disk, "qcow2", (4 * MiB, 4096, 0x20), (50 * MiB, 65536, 0x30));
        using (var server = new QemuNbdProcess(disk, "qcow2", readOnly: true, "live"))
        {
            var result = await ws.BackupAsync(server.Url, cbt: "live", name: "vm1");
            Assert.False(result.FullRead);
            Assert.Equal(2 * 65536, result.BytesRead);
            Assert.Equal(first.Id, result.Snapshot.Parent);
            Assert.Equal("nbd", result.Snapshot.Image!.SourceKind);
            await ws.AssertRestoresToAsync(result.Snapshot, disk, "qcow2");
        }
    }

    [Fact]
    public async Task An_export_without_the_named_bitmap_is_read_whole_and_says_so()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 16 * MiB);
        Qemu.Write(disk, "qcow2", (0, MiB, 0x10));
        using var server = new QemuNbdProcess(disk, "qcow2");
        await ws.BackupAsync(server.Url, cbt: "gone", name: "vm");
        var second = await ws.BackupAsync(server.Url, cbt: "gone", name: "vm");
        Assert.True(second.FullRead);
        Assert.Contains(ws.Notes, n => n.Contains("no dirty bitmap 'gone'"));
    }

    [Fact]
    public async Task A_server_vanishing_mid_backup_records_no_snapshot_and_the_next_run_succeeds()
    {
        await using var ws = await CreateAsync();
        var disk = ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        Qemu.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x61 0 40M", disk);
        using var server = new QemuNbdProcess(disk, "qcow2");
        using (var proxy = new CuttingProxy(server.Socket, cutAfterServerBytes: 12 * MiB))
        {
            var e = await Assert.ThrowsAsync<NbdException>(() => ws.BackupAsync(proxy.Url, name: "vm"));
            Assert.Contains("NBD server", e.Message);
        }
        Assert.Empty(await ImageSnapshots.ListAsync(ws.Repo, default));

        var result = await ws.BackupAsync(server.Url, name: "vm");
        Assert.Equal(40 * MiB, result.BytesRead);
        await ws.AssertRestoresToAsync(result.Snapshot, disk, "qcow2");
        using var check = await TestRepositories.ReopenWithIndexAsync(ws.RepositoryPath);
        var report = await new Strata.Check.Checker(check).RunAsync(new Strata.Check.CheckOptions { ReadData = true });
        Assert.Empty(report.Errors);
    }
}
