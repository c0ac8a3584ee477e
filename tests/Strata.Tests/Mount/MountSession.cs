using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Mount;

/// <summary>
/// A running <c>strata mount</c> of a workspace's repository. Starting waits until the mount is
/// visible; dispose stops it with SIGTERM (as a service manager would) and makes sure nothing is
/// left mounted even when the test failed.
/// </summary>
internal sealed class MountSession : IDisposable
{
    private MountSession(CliProcess process, string mountpoint)
    {
        Process = process;
        Mountpoint = mountpoint;
    }

    public CliProcess Process { get; }
    public string Mountpoint { get; }

    public string PathOf(params string[] parts) => Path.Combine([Mountpoint, .. parts]);

    /// <summary>The folder of the newest snapshot of everything below <paramref name="sourcePath"/> as it was backed up.</summary>
    public string Latest(string sourcePath) => Mountpoint + "/snapshots/latest" + Path.GetFullPath(sourcePath).TrimEnd('/');

    public static MountSession Start(CliWorkspace ws, string mountpoint, params string[] extraArgs)
    {
        Directory.CreateDirectory(mountpoint);
        var process = ws.Cli.Start(["mount", mountpoint, .. extraArgs]);
        var session = new MountSession(process, Path.GetFullPath(mountpoint));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(IsMounted(session.Mountpoint) && Directory.Exists(Path.Combine(session.Mountpoint, "snapshots"))))
        {
            if (process.HasExited)
                throw new Xunit.Sdk.XunitException("strata mount ended before the mount appeared\n" + process.WaitAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult().Describe());
            if (DateTime.UtcNow > deadline)
            {
                session.Dispose();
                throw new Xunit.Sdk.XunitException($"{mountpoint} was not mounted within 60 s");
            }
            Thread.Sleep(50);
        }
        return session;
    }

    public static bool IsMounted(string directory) =>
        File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ') is { Length: > 4 } f && f[4] == directory);

    public void Terminate() => Process.Signal(15);

    /// <summary>SIGTERM, then the process's result (it must end by itself within the limit).</summary>
    public CliResult Stop(TimeSpan? timeout = null)
    {
        Terminate();
        return Process.WaitAsync(timeout ?? TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Terminate();
            try { Process.WaitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult(); }
            catch (TimeoutException) { }
        }
        if (IsMounted(Mountpoint)) CliWorkspace.RunTool("umount", "-l", Mountpoint);
        Process.Dispose();
    }
}
