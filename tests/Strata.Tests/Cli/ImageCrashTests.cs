using System.Diagnostics;
using Strata.Tests.Images;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>An image backup killed at any moment: nothing half-done is recorded, the disk is not left locked, the next run succeeds.</summary>
public sealed class ImageCrashTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly CliWorkspace _ws = new("image-crash");

    public void Dispose() => _ws.Dispose();

    [Theory]
    [InlineData(150)]
    [InlineData(400)]
    [InlineData(900)]
    public async Task A_killed_cbt_backup_leaves_no_snapshot_no_qemu_nbd_and_a_bitmap_that_loses_nothing(int killAfterMs)
    {
        _ws.Init();
        var disk = _ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 256 * MiB);
        Qemu.AddBitmap(disk, "b");
        Qemu.Write(disk, "qcow2", (0, 4 * MiB, 0x01));
        _ws.Cli.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b").ShouldSucceed();
        // Incompressible data makes the second backup long enough to be killed in the middle.
        var chunk = _ws.PathOf("chunk");
        File.WriteAllBytes(chunk, TestData.RandomBytes(8 << 20, seed: killAfterMs));
        Qemu.Run("qemu-io", ["-f", "qcow2", .. Enumerable.Range(0, 16).SelectMany(i => new[] { "-c", $"write -q -s {chunk} {i * 12 * MiB} {8 * MiB}" }), disk]);

        using (var running = _ws.Cli.Start("image", "backup", disk, "--cbt", "qemu-bitmap:b", "--json"))
        {
            await Task.Delay(killAfterMs);
            // SIGKILL to strata alone (not its process tree): its qemu-nbd child must go away by itself.
            try { Process.GetProcessById(running.Id).Kill(entireProcessTree: false); }
            catch (ArgumentException) { } // already finished
            catch (InvalidOperationException) { }
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        // Its qemu-nbd notices the closed connections and exits, releasing the image.
        var clock = Stopwatch.StartNew();
        while (QemuNbdProcessesFor(disk) > 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        Assert.Equal(0, QemuNbdProcessesFor(disk));

        var before = _ws.Cli.Run("image", "ls", "--json").ShouldSucceed().Json.AsArray().Count;
        _ws.Cli.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b").ShouldSucceed();
        var target = _ws.PathOf("r.raw");
        _ws.Cli.Run("image", "restore", "latest", "--target", target).ShouldSucceed();
        Assert.True(Qemu.Identical(target, "raw", disk, "qcow2"), "the backup after the kill misses writes");
        Assert.InRange(before, 1, 2);
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
    }

    [Fact]
    public async Task Strata_killed_as_soon_as_its_qemu_nbd_starts_leaves_no_qemu_nbd_behind()
    {
        _ws.Init();
        var disk = _ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 64 * MiB);
        Qemu.Write(disk, "qcow2", (0, 4 * MiB, 0x01));
        using (var running = _ws.Cli.Start("image", "backup", disk))
        {
            var clock = Stopwatch.StartNew();
            while (QemuNbdProcessesFor(disk) == 0 && !running.HasExited && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(1);
            try { Process.GetProcessById(running.Id).Kill(entireProcessTree: false); }
            catch (ArgumentException) { }
            catch (InvalidOperationException) { }
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        var wait = Stopwatch.StartNew();
        while (QemuNbdProcessesFor(disk) > 0 && wait.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
        Assert.Equal(0, QemuNbdProcessesFor(disk));
        // The image is not locked: qemu-img can write to it.
        Qemu.AddBitmap(disk, "after");
    }

    [Theory]
    [InlineData(9)]   // SIGKILL: no cleanup at all; Strata's qemu-nbd is stopped by its guard
    [InlineData(2)]   // SIGINT (Ctrl-C): exit 130 and a note on how to finish
    public async Task An_incremental_restore_stopped_midway_is_finished_by_running_it_again(int signal)
    {
        _ws.Init();
        var disk = _ws.PathOf("vm.qcow2");
        Qemu.CreateQcow2(disk, 256 * MiB);
        Qemu.AddBitmap(disk, "b");
        WriteChunks(disk, seed: 1);
        _ws.Cli.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b").ShouldSucceed();
        var point = _ws.PathOf("point.raw");
        Qemu.ConvertToRaw(disk, point);
        WriteChunks(disk, seed: 2);

        // Downloads held to 16 MiB/s: the 128 MiB to bring back take 8 s, so the signal lands midway.
        string[] restore = ["image", "restore", "latest", "--target", disk, "--incremental", "--cbt", "qemu-bitmap:b"];
        CliResult stopped;
        using (var running = _ws.Cli.Start(["--limit-download", "16384", .. restore]))
        {
            await Task.Delay(2000);
            Assert.False(running.HasExited, "the throttled restore ended before the signal");
            Assert.True(running.Signal(signal));
            stopped = await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        if (signal == 2)
        {
            Assert.Equal(130, stopped.ExitCode);
            Assert.Contains($"{disk} is partly restored", stopped.StdErr);
        }
        var clock = Stopwatch.StartNew();
        while (QemuNbdProcessesFor(disk) > 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        Assert.Equal(0, QemuNbdProcessesFor(disk));
        Assert.False(Qemu.Identical(disk, "qcow2", point, "raw"));

        var rest = _ws.Cli.Run([.. restore, "--json"]).ShouldSucceed();
        Assert.True(Qemu.Identical(disk, "qcow2", point, "raw"), "the restore run again left blocks of the drifted disk");
        Assert.Equal("incremental-cbt", (string)rest.Summary["mode"]!);
    }

    /// <summary>16 chunks of 8 MiB of different incompressible data, one every 16 MiB.</summary>
    private void WriteChunks(string disk, int seed)
    {
        var args = new List<string> { "-f", "qcow2" };
        for (int i = 0; i < 16; i++)
        {
            var chunk = _ws.PathOf($"chunk-{seed}-{i}");
            File.WriteAllBytes(chunk, TestData.RandomBytes(8 << 20, seed: seed * 100 + i));
            args.AddRange(["-c", $"write -q -s {chunk} {i * 16 * MiB} {8 * MiB}"]);
        }
        args.Add(disk);
        Qemu.Run("qemu-io", [.. args]);
    }

    private static int QemuNbdProcessesFor(string image) =>
        Directory.EnumerateDirectories("/proc").Count(dir =>
        {
            try { return File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Contains("qemu-nbd") && File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(image); }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });
}
