using System.ComponentModel;
using System.Diagnostics;

namespace Strata.Tests.Images;

/// <summary>
/// Boots a real x86 VM with qemu-system-x86_64 (Debian package qemu-system-x86, installed by
/// ./test.sh) from one drive and captures what it prints on COM1. KVM when the host offers it,
/// TCG otherwise; no display, no network, no default devices; the isa-debug-exit device lets the
/// guest end the VM with an exit code (see <see cref="BootDisk"/>).
/// </summary>
public static class QemuVm
{
    public const string Program = "qemu-system-x86_64";

    /// <summary>Generous: a boot takes seconds, but TCG on a loaded 2-core machine is slow.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>What one boot did: QEMU's exit code, the guest's serial output, QEMU's own messages, and how long it ran.</summary>
    public sealed record Run(int ExitCode, string Serial, string Messages, TimeSpan Elapsed)
    {
        public override string ToString() => $"{Program} exited with {ExitCode} after {Elapsed.TotalSeconds:0.0} s; serial: [{Serial}]; qemu said: [{Messages.Trim()}]";
    }

    /// <summary>
    /// Boots from <paramref name="drive"/> (a -drive option value, e.g.
    /// <c>file=nbd://127.0.0.1:10809,format=raw,if=ide</c>) and waits until the VM ends; kills it
    /// and fails the test after <paramref name="timeout"/>.
    /// </summary>
    public static Run Boot(string drive, string workDirectory, TimeSpan? timeout = null)
    {
        var serial = Path.Combine(workDirectory, $"serial-{Guid.NewGuid():N}.txt");
        var info = new ProcessStartInfo(Program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "-accel", "kvm", "-accel", "tcg", // the first that works
            "-display", "none", "-nodefaults", "-no-reboot", "-m", "32",
            "-serial", $"file:{serial}",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", drive,
        }) info.ArgumentList.Add(arg);
        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (Win32Exception e)
        {
            throw new Xunit.Sdk.XunitException($"{Program} cannot be started ({e.Message}): install the Debian package qemu-system-x86 (./test.sh does)");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? DefaultTimeout))
            {
                process.Kill();
                process.WaitForExit();
                throw new TimeoutException($"the VM did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0} s; serial so far: [{ReadSerial(serial)}]; qemu said: [{stderr.Result}{stdout.Result}]");
            }
            var run = new Run(process.ExitCode, ReadSerial(serial), stderr.Result + stdout.Result, clock.Elapsed);
            File.Delete(serial);
            return run;
        }
    }

    private static string ReadSerial(string path) => File.Exists(path) ? File.ReadAllText(path) : "";
}
