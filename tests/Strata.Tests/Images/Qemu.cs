using System.Diagnostics;
using System.Net.Sockets;

namespace Strata.Tests.Images;

/// <summary>
/// The real qemu-utils programs (installed by ./test.sh) as tests use them: create qcow2 disks,
/// write with qemu-io, manage bitmaps, convert and compare, and serve images with qemu-nbd.
/// </summary>
public static class Qemu
{
    public static string Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new Xunit.Sdk.XunitException($"{program} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }

    public static void CreateQcow2(string path, long size) => Run("qemu-img", "create", "-q", "-f", "qcow2", path, size.ToString());

    public static void AddBitmap(string image, string name) => Run("qemu-img", "bitmap", "--add", "--enable", image, name);

    /// <summary>qemu-io writes of a byte pattern: each (offset, length, pattern).</summary>
    public static void Write(string image, string format, params (long Offset, long Length, byte Pattern)[] writes)
    {
        var args = new List<string> { "-f", format };
        foreach (var (offset, length, pattern) in writes) args.AddRange(["-c", $"write -P 0x{pattern:x2} {offset} {length}"]);
        args.Add(image);
        Run("qemu-io", [.. args]);
    }

    /// <summary>Zeroes a range with qemu-io (write -z: the format may deallocate it).</summary>
    public static void Zero(string image, string format, long offset, long length) =>
        Run("qemu-io", "-f", format, "-c", $"write -z {offset} {length}", image);

    public static void ConvertToRaw(string qcow2, string raw) => Run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2, raw);

    /// <summary>True when qemu-img compare finds the two images' guest-visible contents identical.</summary>
    public static bool Identical(string a, string formatA, string b, string formatB)
    {
        var info = new ProcessStartInfo("qemu-img") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "compare", "-q", "-f", formatA, "-F", formatB, a, b }) info.ArgumentList.Add(arg);
        using var p = Process.Start(info)!;
        p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode > 1) throw new Xunit.Sdk.XunitException($"qemu-img compare failed: {err}");
        return p.ExitCode == 0;
    }

    public static IReadOnlyList<string> Bitmaps(string image) =>
        System.Text.Json.Nodes.JsonNode.Parse(Run("qemu-img", "info", "--output=json", "-U", image))?["format-specific"]?["data"]?["bitmaps"]?.AsArray()
            .Select(b => (string)b!["name"]!).ToList() ?? [];
}

/// <summary>A qemu-nbd serving one image on a Unix socket in a temporary folder; killed on dispose.</summary>
public sealed class QemuNbdProcess : IDisposable
{
    private readonly Process _process;

    public QemuNbdProcess(string image, string format, bool readOnly = true, params string[] bitmaps)
    {
        Socket = Path.Combine(Path.GetDirectoryName(image)!, $"nbd-{Guid.NewGuid():N}.sock");
        var info = new ProcessStartInfo("qemu-nbd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var args = new List<string> { "--persistent", "-k", Socket, "-f", format };
        if (readOnly) args.Add("--read-only");
        foreach (var b in bitmaps) args.AddRange(["-B", b]);
        args.Add(image);
        foreach (var a in args) info.ArgumentList.Add(a);
        _process = Process.Start(info)!;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw new Xunit.Sdk.XunitException("qemu-nbd exited: " + _process.StandardError.ReadToEnd());
            if (File.Exists(Socket))
            {
                using var probe = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try { probe.Connect(new UnixDomainSocketEndPoint(Socket)); break; }
                catch (SocketException) { }
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException("qemu-nbd did not start");
            Thread.Sleep(20);
        }
    }

    public string Socket { get; }

    public string Url => $"nbd+unix:///?socket={Socket}";

    public Strata.Nbd.NbdAddress Address => Strata.Nbd.NbdAddress.ForUnixSocket(Socket);

    /// <summary>SIGKILL, as when the server crashes or its host goes away.</summary>
    public void Kill()
    {
        try { _process.Kill(); } catch (InvalidOperationException) { }
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        try { File.Delete(Socket); } catch (IOException) { }
    }
}
