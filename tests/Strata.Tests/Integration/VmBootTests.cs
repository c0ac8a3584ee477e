using System.Diagnostics;
using Strata.Tests.Cli;
using Strata.Tests.Images;
using Xunit.Abstractions;

namespace Strata.Tests.Integration;

/// <summary>
/// Instant recovery as a user does it: a real VM (qemu-system-x86_64, SeaBIOS) boots from a
/// recovery point that 'strata serve nbd' or 'strata image restore --live' serves, reads data
/// beyond its boot sector and writes a sector (<see cref="BootDisk"/>).
/// </summary>
public sealed class VmBootTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly CliWorkspace _ws = new("vm-boot");
    private readonly ITestOutputHelper _output;

    public VmBootTests(ITestOutputHelper output)
    {
        _output = output;
        _ws.Init();
    }

    public void Dispose() => _ws.Dispose();

    private (BootDisk Disk, string SnapshotId) BackedUpBootDisk(long size)
    {
        var disk = BootDisk.Create(_ws.PathOf("disk.raw"), size, $"marker {Guid.NewGuid():N} from the recovery point");
        var id = (string)_ws.Cli.Run("image", "backup", disk.Path, "--json").ShouldSucceed().Summary["snapshot_id"]!;
        return (disk, id);
    }

    private static void AssertRanToTheEnd(QemuVm.Run vm, BootDisk disk, string writeResult)
    {
        Assert.True(vm.ExitCode == BootDisk.ExitCode, vm.ToString());
        Assert.Equal(disk.Transcript(writeResult), vm.Serial);
    }

    [Theory]
    // The README's command: QEMU keeps the guest's writes in a temporary overlay of its own.
    [InlineData("if=ide,snapshot=on", BootDisk.WriteOk)]
    // A read-only disk: the BIOS reports the guest's write as failed.
    [InlineData("if=virtio,readonly=on", BootDisk.WriteFailed)]
    public async Task A_VM_boots_from_a_recovery_point_served_over_NBD(string driveOptions, string writeResult)
    {
        var (disk, _) = BackedUpBootDisk(16 * MiB);
        int port = CliNbdServer.FreePort();
        using var server = _ws.Cli.Start("serve", "nbd", "latest", "--listen", $"127.0.0.1:{port}");
        CliNbdServer.WaitUntilListening(server, port);
        var url = $"nbd://127.0.0.1:{port}";

        var vm = QemuVm.Boot($"file={url},format=raw,{driveOptions}", _ws.Root);

        AssertRanToTheEnd(vm, disk, writeResult);
        Assert.True(Qemu.Identical(disk.Path, "raw", url, "raw"), "the export changed");
        CliNbdServer.Terminate(server);
        (await server.WaitAsync(TimeSpan.FromSeconds(60))).ShouldSucceed();
    }

    [Fact]
    public async Task A_VM_boots_from_a_writable_export_and_reads_its_write_back_while_the_recovery_point_stays_unchanged()
    {
        var (disk, id) = BackedUpBootDisk(16 * MiB);
        int port = CliNbdServer.FreePort();
        var overlay = _ws.PathOf("overlay.raw");
        using var server = _ws.Cli.Start("serve", "nbd", id, "--listen", $"127.0.0.1:{port}", "--writable", "--overlay", overlay);
        CliNbdServer.WaitUntilListening(server, port);

        var vm = QemuVm.Boot($"file=nbd://127.0.0.1:{port},format=raw,if=ide", _ws.Root);

        AssertRanToTheEnd(vm, disk, BootDisk.WriteOk);
        CliNbdServer.Terminate(server);
        var served = (await server.WaitAsync(TimeSpan.FromSeconds(60))).ShouldSucceed();
        Assert.Contains("the overlay holds 1 written block(s)", served.StdOut);
        var overlayBytes = File.ReadAllBytes(overlay);
        Assert.Equal(disk.BootSector, overlayBytes.AsSpan((int)disk.WriteOffset, BootDisk.SectorSize).ToArray());

        // The VM wrote into the overlay only: the repository verifies and restores the original disk.
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var restored = _ws.PathOf("restored.raw");
        _ws.Cli.Run("image", "restore", id, "--target", restored).ShouldSucceed();
        Assert.Equal(File.ReadAllBytes(disk.Path), File.ReadAllBytes(restored));
    }

    [Fact]
    public async Task A_VM_boots_from_a_live_restore_while_the_copy_runs_and_its_write_ends_up_in_the_restored_disk()
    {
        // From a slow repository (2 MiB/s, as from a distant one), the copy of 32 MiB takes about
        // 16 s, a boot here about 5: the VM runs while the copy does. The marker and the written
        // sector lie near the end, where the copy (in disk order) arrives last.
        var (disk, id) = BackedUpBootDisk(32 * MiB);
        int port = CliNbdServer.FreePort();
        var target = _ws.PathOf("live.raw");
        using var server = _ws.Cli.Start("image", "restore", id, "--target", target, "--live", "--serve-nbd", $"127.0.0.1:{port}", "--json", "--limit-download", "2048");
        CliNbdServer.WaitUntilListening(server, port);
        var listening = server.Elapsed;

        var vm = QemuVm.Boot($"file=nbd://127.0.0.1:{port},format=raw,if=ide", _ws.Root);
        var vmDone = server.Elapsed;

        AssertRanToTheEnd(vm, disk, BootDisk.WriteOk);
        // As documented: once the copy completes, the target is the recovery point plus the clients' writes.
        var expected = File.ReadAllBytes(disk.Path);
        disk.BootSector.CopyTo(expected, disk.WriteOffset);
        var clock = Stopwatch.StartNew();
        while (!FileEquals(target, expected))
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException("the live restore did not complete");
            Assert.False(server.HasExited, "the live restore stopped serving");
            await Task.Delay(250);
        }
        CliNbdServer.Terminate(server);
        var result = (await server.WaitAsync(TimeSpan.FromSeconds(60))).ShouldSucceed();
        var restored = result.JsonObjects.Single(o => (string)o["message_type"]! == "restored");
        Assert.Equal(expected, File.ReadAllBytes(target));
        // Not asserted (timing depends on the machine's load): whether the VM was done before the copy
        // ('restored' counts the blocks clients had written when the copy completed).
        var copyDone = listening + TimeSpan.FromSeconds((double)restored["total_duration"]!);
        _output.WriteLine($"VM done {(vmDone - listening).TotalSeconds:0.00} s after the server listened; the copy took {(copyDone - listening).TotalSeconds:0.00} s" +
            (vmDone < copyDone ? " (the VM ran during the copy)" : " (the copy finished first)") +
            $"; blocks written by clients when it completed: {restored["blocks_written_by_clients"]}");
    }

    /// <summary>Compares in 1 MiB steps and stops at the first difference, so polling an incomplete file stays cheap.</summary>
    private static bool FileEquals(string path, byte[] expected)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (file.Length != expected.Length) return false;
        var buffer = new byte[MiB];
        for (int at = 0; at < expected.Length; at += buffer.Length)
        {
            int n = Math.Min(buffer.Length, expected.Length - at);
            file.ReadExactly(buffer, 0, n);
            if (!buffer.AsSpan(0, n).SequenceEqual(expected.AsSpan(at, n))) return false;
        }
        return true;
    }
}
