using System.Diagnostics;
using System.Text.Json.Nodes;
using Strata.Images.Qmp;

namespace Strata.Tests.Images;

/// <summary>
/// A real qemu-system-x86_64 (no guest OS: <c>-machine none</c>) running one qcow2 disk as drive
/// <c>drive0</c> (node <c>disk0</c>), with two QMP monitors: <see cref="QmpSocket"/> for Strata, and a
/// second one the test writes through (QEMU serves one client per monitor, and Strata holds its
/// connection during a backup). Writes go through HMP's qemu-io on the drive, as a guest's would.
/// </summary>
public sealed class QmpVm : IAsyncDisposable
{
    public const string Drive = "drive0";
    public const string Node = "disk0";
    private readonly Process _process;
    private readonly QmpClient _monitor;

    private QmpVm(Process process, string qmpSocket, QmpClient monitor)
    {
        _process = process;
        QmpSocket = qmpSocket;
        _monitor = monitor;
    }

    public string QmpSocket { get; }

    /// <summary>The backup source naming the disk by its drive name.</summary>
    public string Source => $"qmp://{QmpSocket}?node={Drive}";

    public static async Task<QmpVm> StartAsync(string disk)
    {
        var folder = Path.GetDirectoryName(disk)!;
        string id = Guid.NewGuid().ToString("N")[..8];
        string strataSocket = Path.Combine(folder, $"qmp-{id}.sock"), testSocket = Path.Combine(folder, $"qmp-test-{id}.sock");
        var info = new ProcessStartInfo("qemu-system-x86_64") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "-machine", "none", "-nodefaults", "-display", "none",
            "-qmp", $"unix:{strataSocket},server=on,wait=off", "-qmp", $"unix:{testSocket},server=on,wait=off",
            "-drive", $"if=none,id={Drive},node-name={Node},file={disk},format=qcow2" }) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        _ = process.StandardOutput.ReadToEndAsync();   // drained: qemu-io reports there, and a full pipe would stall QEMU
        var stderr = process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!File.Exists(strataSocket) || !File.Exists(testSocket))
        {
            if (process.HasExited) throw new Xunit.Sdk.XunitException("qemu-system-x86_64 exited: " + await stderr);
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("qemu-system-x86_64 did not create its QMP sockets");
            await Task.Delay(20);
        }
        // QEMU creates a socket's file when it binds, a moment before it listens: retry a refused connect.
        while (true)
        {
            try
            {
                return new QmpVm(process, strataSocket, await QmpClient.ConnectAsync(testSocket, default));
            }
            catch (QmpConnectionException) when (!process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Guest-like writes of a byte pattern: each (offset, length, pattern).</summary>
    public async Task WriteAsync(params (long Offset, long Length, byte Pattern)[] writes)
    {
        foreach (var (offset, length, pattern) in writes)
        {
            // qemu-io prints its report on QEMU's stdout; HMP returns only errors.
            var output = (string?)await Hmp($"qemu-io {Drive} \"write -P 0x{pattern:x2} {offset} {length}\"");
            if (!string.IsNullOrWhiteSpace(output)) throw new Xunit.Sdk.XunitException($"qemu-io write failed: {output}");
        }
    }

    private Task<JsonNode?> Hmp(string command) => _monitor.ExecuteAsync("human-monitor-command", new JsonObject { ["command-line"] = command }, default);

    /// <summary>The disk's dirty bitmaps as QEMU sees them now.</summary>
    public async Task<IReadOnlyList<QmpDirtyBitmap>> BitmapsAsync() => (await QmpBlockNode.FindAsync(_monitor, Node, default)).Bitmaps;

    public async Task<long> DirtyBytesAsync(string bitmap) => (await BitmapsAsync()).Single(b => b.Name == bitmap).Count;

    /// <summary>Adds a persistent, enabled dirty bitmap, as a user does once before the first backup.</summary>
    public Task AddBitmapAsync(string name) => QmpActions.RunAsync(_monitor, [QmpActions.AddBitmap(Node, name)], default);

    /// <summary>Names of Strata's helpers still present in QEMU (export, job, overlay node): empty after every backup.</summary>
    public async Task<List<string>> LeftoversAsync()
    {
        var found = new List<string>();
        foreach (var (query, key) in new[] { ("query-block-exports", "id"), ("query-jobs", "id") })
            found.AddRange(((await _monitor.ExecuteAsync(query, null, default))?.AsArray() ?? []).Select(x => (string)x![key]!));
        found.AddRange(((await _monitor.ExecuteAsync("query-named-block-nodes", new JsonObject { ["flat"] = true }, default))?.AsArray() ?? [])
            .Select(x => (string)x!["node-name"]!).Where(n => n.StartsWith("strata", StringComparison.Ordinal)));
        return found;
    }

    /// <summary>SIGKILL, as when QEMU crashes: persistent bitmaps are left marked in use.</summary>
    public void Kill()
    {
        try { _process.Kill(); } catch (InvalidOperationException) { }
        _process.WaitForExit();
    }

    /// <summary>A clean shutdown: QEMU writes its persistent bitmaps back to the qcow2 file.</summary>
    public async Task QuitAsync()
    {
        try { await _monitor.ExecuteAsync("quit", null, default); } catch (QmpConnectionException) { }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _monitor.DisposeAsync();
        Kill();
        _process.Dispose();
    }
}
