using System.Diagnostics;

namespace Strata.Tests.TestSupport;

/// <summary>
/// A small tmpfs mounted on a fresh directory, to make a real "no space left on device" happen
/// (or a ramfs, which has no size limit but refuses O_DIRECT).
/// Needs root (the tests run as root); <see cref="TryMount"/> returns null where mounting is not allowed.
/// </summary>
public sealed class TinyFileSystem : IDisposable
{
    private readonly TempFolder _folder;

    private TinyFileSystem(TempFolder folder, string mountPoint)
    {
        _folder = folder;
        Path = mountPoint;
    }

    public string Path { get; }

    public static TinyFileSystem? TryMount(string size = "1m", string type = "tmpfs")
    {
        var folder = new TempFolder(type);
        var mountPoint = folder.Combine("mnt");
        Directory.CreateDirectory(mountPoint);
        if (Run("mount", "-t", type, "-o", $"size={size}", type, mountPoint) == 0)
            return new TinyFileSystem(folder, mountPoint);
        folder.Dispose();
        return null;
    }

    /// <summary>Gives the file system a new size limit, as when space is freed on a full disk.</summary>
    public void Resize(string size)
    {
        if (Run("mount", "-o", $"remount,size={size}", Path) != 0) throw new InvalidOperationException($"cannot resize {Path} to {size}");
    }

    /// <summary>The type of the file system holding <paramref name="path"/>, from /proc/self/mounts (longest matching mount point).</summary>
    public static string TypeOf(string path)
    {
        string best = "", type = "";
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 2 && (path == fields[1] || path.StartsWith(fields[1].TrimEnd('/') + "/", StringComparison.Ordinal)) && fields[1].Length >= best.Length)
                (best, type) = (fields[1], fields[2]);
        }
        return type;
    }

    public void Dispose()
    {
        Run("umount", Path);
        _folder.Dispose();
    }

    private static int Run(string program, params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in arguments) info.ArgumentList.Add(argument);
            using var process = Process.Start(info)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1; // no such program
        }
    }
}
