using System.Diagnostics;
using System.Net.Sockets;
using Strata.Errors;
using Strata.Nbd;

namespace Strata.Images;

/// <summary>
/// A qemu-nbd that Strata starts to read or write an image file in a format only qemu knows
/// (qcow2): it listens on a Unix socket in a new private directory (mode 0700), exits when its
/// last client disconnects, and is stopped and waited for on dispose, so its lock on the image is
/// gone when this returns.
/// </summary>
public sealed class QemuNbdServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _directory;
    private readonly string _socketPath;
    private readonly string _logPath;

    private QemuNbdServer(Process process, DirectoryInfo directory, string socket, string log)
    {
        _socketPath = socket;
        _process = process;
        _directory = directory;
        _logPath = log;
        Address = NbdAddress.ForUnixSocket(socket);
    }

    public NbdAddress Address { get; }

    // fd 3 keeps the pipe: a background job's own stdin is /dev/null in a non-interactive shell.
    // A second watcher polls Strata's pid: the pipe alone proved unreliable when Strata was killed right
    // after the start (a moment when another process could still hold the pipe's write end).
    // qemu-nbd's errors go to a file: the watchers hold the guard's stderr pipe open until Strata exits.
    private const string GuardScript = "exec 3<&0; qemu-nbd \"$@\" </dev/null 2>\"$STRATA_QEMU_NBD_LOG\" & q=$!; (read -r _ <&3; kill -TERM $q 2>/dev/null) & " +
        "(while kill -0 \"$STRATA_PARENT_PID\" 2>/dev/null; do sleep 0.2; done; kill -TERM $q 2>/dev/null) & wait $q";

    /// <summary>Connections Strata opens to its own qemu-nbd (--shared): reads on separate connections overlap.</summary>
    public const int Connections = 4;

    public static async Task<QemuNbdServer> StartAsync(string imagePath, string format, bool writable, IReadOnlyList<string> dirtyBitmaps, CancellationToken ct)
    {
        var directory = Directory.CreateTempSubdirectory("strata-nbd-");
        var socket = Path.Combine(directory.FullName, "nbd.sock");
        // Not --persistent: qemu-nbd exits when its last client disconnects.
        var args = new List<string> { "--shared", Connections.ToString(System.Globalization.CultureInfo.InvariantCulture), "--socket", socket, "--format", format };
        if (writable) args.AddRange(["--discard", "unmap"]);
        else args.Add("--read-only");
        // Past the host's page cache, as Strata's own raw-file I/O (FileBlockDevice): a backup reads, and a
        // restore writes, gigabytes nobody reads again soon. Only where the file system takes O_DIRECT:
        // qemu-nbd would refuse to open the image elsewhere (ramfs, some FUSE).
        if (Platform.DirectIo.IsSupported(imagePath)) args.AddRange(["--cache", "none", "--aio", "native"]);
        foreach (var bitmap in dirtyBitmaps) args.AddRange(["--bitmap", bitmap]);
        args.Add(Path.GetFullPath(imagePath));
        if (!QemuTool.IsInstalled("qemu-nbd"))
            throw new Errors.UsageException($"qemu-nbd is not installed (Debian package {QemuTool.Package}); it is needed for qcow2 images and qemu dirty bitmaps");
        // A guard shell holds our stdin pipe: when Strata exits or is killed, even before connecting,
        // the pipe closes and the guard stops qemu-nbd, so no qemu-nbd is left holding the image's lock.
        var start = QemuTool.StartInfo("/bin/sh", ["-c", GuardScript, "qemu-nbd-guard", .. args]);
        start.Environment["STRATA_PARENT_PID"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var log = Path.Combine(directory.FullName, "qemu-nbd.log");
        start.Environment["STRATA_QEMU_NBD_LOG"] = log;
        var process = QemuTool.Start(start);
        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var server = new QemuNbdServer(process, directory, socket, log);
        try
        {
            await server.WaitUntilListeningAsync(imagePath, ct).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task WaitUntilListeningAsync(string imagePath, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw Failure(imagePath, null);
            // Bound is enough: the first client retries while qemu-nbd is between bind and listen
            // (a probe connection would count as its last client and make it exit).
            if (File.Exists(_socketPath)) return;
            if (clock.Elapsed > TimeSpan.FromSeconds(20)) throw new StrataException($"qemu-nbd did not start serving {imagePath} within 20 s");
            await Task.Delay(5, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After talking to it failed: qemu-nbd's own error when it exited (it binds its socket before
    /// opening the image, so a locked or damaged image shows first as a dropped connection), else null.
    /// </summary>
    public async Task<StrataException?> ExplainAsync(string imagePath, Exception failure)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { return null; }
        return Failure(imagePath, failure);
    }

    private StrataException Failure(string imagePath, Exception? inner)
    {
        string log;
        try { log = File.ReadAllText(_logPath); }
        catch (IOException) { log = ""; }
        return new StrataException($"qemu-nbd could not serve {imagePath}: {QemuTool.Describe("qemu-nbd", log)}", inner: inner);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // Closing the guard's stdin makes it SIGTERM qemu-nbd, which flushes and releases the
                // image (persistent bitmaps are written back); then the guard exits.
                try { _process.StandardInput.Close(); } catch (IOException) { }
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try { await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync().ConfigureAwait(false); }
            }
        }
        finally
        {
            _process.Dispose();
            try { _directory.Delete(recursive: true); } catch (IOException) { }
        }
    }

}
