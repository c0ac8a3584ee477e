using System.Diagnostics;
using Strata.Tests.Images;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>'strata serve nbd' through the real CLI, read and written by the real qemu tools.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly CliWorkspace _ws = new("serve-cli");

    public ServeCommandTests() => _ws.Init();

    public void Dispose() => _ws.Dispose();

    private (string Disk, string Id) BackedUpDisk()
    {
        var disk = _ws.PathOf("disk.raw");
        using (var f = new FileStream(disk, FileMode.Create))
        {
            f.SetLength(16 * MiB);
            f.Write(TestData.RandomBytes(2 << 20, seed: 7));
            f.Position = 9 * MiB;
            f.Write(TestData.RandomBytes(300_000, seed: 8));
        }
        var id = (string)_ws.Cli.Run("image", "backup", disk, "--json").ShouldSucceed().Summary["snapshot_id"]!;
        return (disk, id);
    }

    [Fact]
    public async Task Writable_export_takes_qemu_io_writes_into_the_overlay_and_check_read_data_still_passes()
    {
        var (disk, id) = BackedUpDisk();
        int port = CliNbdServer.FreePort();
        var overlay = _ws.PathOf("overlay.raw");
        using var server = _ws.Cli.Start("serve", "nbd", id, "--listen", $"127.0.0.1:{port}", "--writable", "--overlay", overlay);
        CliNbdServer.WaitUntilListening(server, port);
        var url = $"nbd://127.0.0.1:{port}";
        Assert.True(Qemu.Identical(disk, "raw", url, "raw"));
        Qemu.Run("qemu-io", "-f", "raw", "-c", $"write -P 0x42 {MiB + 4096} 8192", "-c", $"write -P 0x43 {12 * MiB} {MiB}", url);
        Qemu.Run("qemu-io", "-r", "-f", "raw", "-c", $"read -P 0x42 {MiB + 4096} 8192", "-c", $"read -P 0x43 {12 * MiB} {MiB}", url);
        Assert.False(Qemu.Identical(disk, "raw", url, "raw"));

        CliNbdServer.Terminate(server);
        var result = await server.WaitAsync(TimeSpan.FromSeconds(30));
        result.ShouldSucceed();
        Assert.Contains("the overlay holds 17 written block(s)", result.StdOut);
        var kept = File.ReadAllBytes(overlay);
        Assert.All(kept.AsSpan((int)(12 * MiB), (int)MiB).ToArray(), b => Assert.Equal(0x43, b));
        Assert.Equal(File.ReadAllBytes(disk).AsSpan((int)MiB, 4096).ToArray(), kept.AsSpan((int)MiB, 4096).ToArray());
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();

        // The recovery point itself is unchanged: a fresh read-only export equals the backed-up disk.
        using var again = _ws.Cli.Start("serve", "nbd", "latest", "--listen", $"127.0.0.1:{port}");
        CliNbdServer.WaitUntilListening(again, port);
        Assert.True(Qemu.Identical(disk, "raw", url, "raw"));
        var writeRefused = CliWorkspace.RunTool("qemu-io", "-f", "raw", "-c", "write 0 512", url);
        Assert.True(writeRefused.Code != 0 || writeRefused.Output.Contains("failed"), writeRefused.Output);
        CliNbdServer.Terminate(again);
        (await again.WaitAsync(TimeSpan.FromSeconds(30))).ShouldSucceed();
    }

    [Fact]
    public async Task Two_qemu_img_clients_read_the_export_at_once()
    {
        var (disk, _) = BackedUpDisk();
        int port = CliNbdServer.FreePort();
        using var server = _ws.Cli.Start("serve", "nbd", "latest", "--listen", $"127.0.0.1:{port}", "--json");
        CliNbdServer.WaitUntilListening(server, port);
        var compares = Enumerable.Range(0, 2).Select(_ => Task.Run(() => Qemu.Identical(disk, "raw", $"nbd://127.0.0.1:{port}", "raw"))).ToArray();
        Assert.All(await Task.WhenAll(compares), Assert.True);
        CliNbdServer.Terminate(server);
        var result = (await server.WaitAsync(TimeSpan.FromSeconds(30))).ShouldSucceed();
        var listening = result.JsonObjects.First();
        Assert.Equal("listening", (string)listening["message_type"]!);
        Assert.Equal($"nbd://127.0.0.1:{port}", (string)listening["url"]!);
        Assert.Equal(3, (int)result.JsonObjects.Last()["connections"]!); // the readiness probe and two clients
    }

    [Fact]
    public void Bad_inputs_are_refused_with_what_is_wrong()
    {
        var (_, id) = BackedUpDisk();
        Assert.Contains("not a port number", _ws.Cli.Run("serve", "nbd", id, "--listen", "127.0.0.1:http").ShouldExitWith(1).StdErr);
        Assert.Contains("--cache-size 'lots' is not a size", _ws.Cli.Run("serve", "nbd", id, "--cache-size", "lots").ShouldExitWith(1).StdErr);
        Assert.Contains("--overlay needs --writable", _ws.Cli.Run("serve", "nbd", id, "--overlay", _ws.PathOf("o")).ShouldExitWith(1).StdErr);
        File.WriteAllText(_ws.PathOf("taken"), "someone's writes");
        Assert.Contains("already exists", _ws.Cli.Run("serve", "nbd", id, "--writable", "--overlay", _ws.PathOf("taken"), "--listen", $"127.0.0.1:{CliNbdServer.FreePort()}").ShouldExitWith(1).StdErr);
        Assert.Equal("someone's writes", File.ReadAllText(_ws.PathOf("taken")));
        _ws.Tree("src").File("a.txt", "x");
        var fileSnap = (string)_ws.Backup(_ws.PathOf("src"))["snapshot_id"]!;
        Assert.Contains("file snapshot", _ws.Cli.Run("serve", "nbd", fileSnap).ShouldExitWith(1).StdErr);
    }

    [Fact]
    public async Task Live_restore_serves_the_target_at_once_and_ends_a_byte_exact_restore_plus_the_clients_writes()
    {
        var (disk, id) = BackedUpDisk();
        int port = CliNbdServer.FreePort();
        var target = _ws.PathOf("live.raw");
        using var server = _ws.Cli.Start("image", "restore", id, "--target", target, "--live", "--serve-nbd", $"127.0.0.1:{port}");
        CliNbdServer.WaitUntilListening(server, port);
        var url = $"nbd://127.0.0.1:{port}";
        Qemu.Run("qemu-io", "-f", "raw", "-c", $"write -P 0x61 {9 * MiB + 10} 5000", url);
        Qemu.Run("qemu-io", "-r", "-f", "raw", "-c", $"read -P 0x61 {9 * MiB + 10} 5000", url);
        var expected = File.ReadAllBytes(disk);
        expected.AsSpan((int)(9 * MiB + 10), 5000).Fill(0x61);
        // The background copy finishes on its own; the server keeps serving until told to stop.
        var clock = Stopwatch.StartNew();
        while (!File.ReadAllBytes(target).AsSpan().SequenceEqual(expected))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the live restore did not complete");
            await Task.Delay(100);
        }
        Assert.False(server.HasExited);
        CliNbdServer.Terminate(server);
        var result = (await server.WaitAsync(TimeSpan.FromSeconds(30))).ShouldSucceed();
        Assert.Contains("restore complete", result.StdOut);
        Assert.Equal(expected, File.ReadAllBytes(target));
        Assert.Contains("--serve-nbd needs --live", _ws.Cli.Run("image", "restore", id, "--target", _ws.PathOf("x.raw"), "--serve-nbd", "unix:/tmp/x").ShouldExitWith(1).StdErr);
    }
}
