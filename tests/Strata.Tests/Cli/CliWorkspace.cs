using System.Diagnostics;
using Strata.Platform;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>
/// One test's folder under /tmp: a repository path, source trees, restore targets, and a
/// <see cref="CliRunner"/> aimed at the repository. Dispose unmounts what the test mounted,
/// gives permissions back and deletes everything.
/// </summary>
public sealed class CliWorkspace : IDisposable
{
    private readonly List<string> _mounts = new();

    public CliWorkspace(string purpose)
    {
        Root = Path.Combine(Path.GetTempPath(), $"strata-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
        RepositoryPath = Path.Combine(Root, "repo");
        Cli = new CliRunner(RepositoryPath);
    }

    public string Root { get; }
    public string RepositoryPath { get; }
    public CliRunner Cli { get; }

    public string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public TreeBuilder Tree(string name) => new(PathOf(name));

    public CliResult Init() => Cli.Run("init").ShouldSucceed();

    /// <summary>Backs up <paramref name="paths"/> with --json and returns the summary; fails the test unless it exits 0.</summary>
    public System.Text.Json.Nodes.JsonObject Backup(params string[] paths) => Cli.Run(["backup", "--json", .. paths]).ShouldSucceed().Summary;

    /// <summary>Where a backed-up absolute <paramref name="sourcePath"/> lands below a restore target (the snapshot mirrors absolute paths).</summary>
    public static string Restored(string target, string sourcePath) => target.TrimEnd('/') + Path.GetFullPath(sourcePath).TrimEnd('/');

    /// <summary>Ids of the pack files under repo/data, by file name.</summary>
    public HashSet<string> PackNames() =>
        Directory.Exists(Path.Combine(RepositoryPath, "data"))
            ? Directory.EnumerateFiles(Path.Combine(RepositoryPath, "data"), "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToHashSet()!
            : new HashSet<string>();

    public string PackPath(string name) => Path.Combine(RepositoryPath, "data", name[..2], name);

    /// <summary>The largest of <paramref name="packs"/> (default: all): a data pack, since trees and block maps go into small packs of their own.</summary>
    public string LargestPack(IEnumerable<string>? packs = null) =>
        (packs ?? PackNames()).OrderByDescending(p => new FileInfo(PackPath(p)).Length).First();

    /// <summary>Mounts a tmpfs of <paramref name="size"/> at <paramref name="directory"/>; null when that is not possible here (not root, no mount).</summary>
    public string? TryMountTmpfs(string directory, string size)
    {
        Directory.CreateDirectory(directory);
        var (code, output) = RunTool("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", directory);
        if (code != 0) return $"mount -t tmpfs failed ({code}): {output.Trim()}";
        _mounts.Add(directory);
        return null;
    }

    public static (int Code, string Output) RunTool(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(info)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            return (p.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    public void Dispose()
    {
        foreach (var mount in _mounts) RunTool("umount", "-l", mount);
        try
        {
            GiveBackPermissions(Root);
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException) { }
    }

    private static void GiveBackPermissions(string directory)
    {
        // Tests take permissions away (unreadable files, restricted folders); the owner needs them back to delete.
        try { Posix.Chmod(directory, Convert.ToUInt32("700", 8)); } catch (IOException) { }
        foreach (var entry in Directory.EnumerateDirectories(directory))
            if (Posix.TryLStat(entry, out var st) && st.Kind == FileKind.Directory)
                GiveBackPermissions(entry);
    }
}
