using System.Diagnostics;
using System.Net.Sockets;
using Strata.Errors;
using Strata.Nbd;
using Strata.Snapshots;

namespace Strata.Images;

/// <summary>
/// Writes an image snapshot as a standalone disk file other tools open without Strata: raw
/// (sparse, written directly, as a full restore) or qcow2/vhdx/vmdk, made by qemu-img convert
/// reading the snapshot from a private NBD server on a Unix socket (qemu-img is the well-kept
/// writer of those formats, used by the hypervisors that read them). The file appears under its
/// name only when complete: it is written beside it and renamed.
/// </summary>
public sealed class ImageExport(Repository.Repository repo, Snapshot snapshot)
{
    public static readonly IReadOnlyList<string> Formats = ["raw", "qcow2", "vhdx", "vmdk"];

    public ImageProgress Progress { get; private set; } = new();

    /// <summary>Stored bytes read from the repository.</summary>
    public long BytesFetched { get; private set; }

    public async Task<long> RunAsync(string format, string output, CancellationToken ct)
    {
        if (!Formats.Contains(format)) throw new UsageException($"--format '{format}' is not one of {string.Join(", ", Formats)}");
        output = Path.GetFullPath(output);
        if (File.Exists(output) || Directory.Exists(output)) throw new UsageException($"{output} already exists: refusing to overwrite it");
        var directory = Path.GetDirectoryName(output)!;
        if (!Directory.Exists(directory)) throw new UsageException($"cannot write {output}: directory {directory} does not exist");
        var partial = Path.Combine(directory, $".{Path.GetFileName(output)}.strata-partial-{Guid.NewGuid():N}");
        try
        {
            long size = format == "raw" ? await RawAsync(partial, ct).ConfigureAwait(false) : await ConvertAsync(format, partial, ct).ConfigureAwait(false);
            File.Move(partial, output, overwrite: false);
            return size;
        }
        finally
        {
            try { File.Delete(partial); } catch (IOException) { }
        }
    }

    private async Task<long> RawAsync(string path, CancellationToken ct)
    {
        var restore = new ImageRestore(repo, snapshot, new ImageRestoreOptions { Target = path });
        Progress = restore.Progress;
        var result = await restore.RunAsync(ct).ConfigureAwait(false);
        BytesFetched = result.BytesFetched;
        return result.BytesTotal;
    }

    private async Task<long> ConvertAsync(string format, string path, CancellationToken ct)
    {
        if (!QemuTool.IsInstalled("qemu-img"))
            throw new UsageException($"exporting to {format} needs qemu-img (Debian package {QemuTool.Package}); --format raw needs nothing else");
        var socketDir = Directory.CreateTempSubdirectory("strata-export-");
        try
        {
            var socket = Path.Combine(socketDir.FullName, "nbd.sock");
            using var export = await SnapshotExports.OpenAsync(repo, snapshot, null, false, BlockCache.DefaultCapacity, ct).ConfigureAwait(false);
            await using var server = NbdServer.Listen(export, new UnixDomainSocketEndPoint(socket));
            server.Start();
            Progress.SetTotal(export.Size);
            // -f raw: the NBD export is the disk's bytes. vmdk gets streamOptimized-free defaults (monolithicSparse), which VMware and VirtualBox open.
            var args = new List<string> { "convert", "-f", "raw", "-O", format, "-p" };
            if (format == "qcow2") args.AddRange(["-o", "compat=1.1"]);
            args.AddRange([NbdListenAddress.UrlOf(new UnixDomainSocketEndPoint(socket)), path]);
            using var process = QemuTool.Start(QemuTool.StartInfo("qemu-img", args));
            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync(ct);
            // qemu-img -p prints "    (12.34/100%)" updates on stdout.
            var outputReader = Task.Run(async () =>
            {
                var buffer = new char[256];
                var reader = process.StandardOutput;
                var pending = new System.Text.StringBuilder();
                int n;
                while ((n = await reader.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    pending.Append(buffer, 0, n);
                    var text = pending.ToString();
                    int close = text.LastIndexOf("/100%)", StringComparison.Ordinal);
                    int open = close < 0 ? -1 : text.LastIndexOf('(', close);
                    if (open >= 0 && double.TryParse(text[(open + 1)..close], System.Globalization.CultureInfo.InvariantCulture, out var percent))
                        Progress.Set((long)(percent / 100 * export.Size));
                    if (pending.Length > 4096) pending.Clear();
                }
            }, ct);
            try
            {
                await process.WaitForExitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(); } catch (InvalidOperationException) { }
                throw;
            }
            await outputReader.ConfigureAwait(false);
            if (process.ExitCode != 0)
                throw new StrataException($"exporting to {format} failed: qemu-img: {QemuTool.FirstLine(await stderr.ConfigureAwait(false))}");
            BytesFetched = export.Reader.Cache.FetchedBytes;
            Progress.Set(export.Size);
            return export.Size;
        }
        finally
        {
            try { socketDir.Delete(recursive: true); } catch (IOException) { }
        }
    }
}
