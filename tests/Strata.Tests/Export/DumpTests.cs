using System.Text.RegularExpressions;
using Strata.Platform;
using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Export;

/// <summary>strata dump through the real command; the archives are unpacked by GNU tar and Info-ZIP unzip, not by Strata.</summary>
public sealed class DumpTests : IDisposable
{
    private readonly CliWorkspace _ws = new("dump");

    public void Dispose() => _ws.Dispose();

    [Fact]
    public void Tar_dump_unpacked_by_gnu_tar_is_the_backed_up_tree()
    {
        var tree = _ws.Tree("src");
        bool xattrs = tree.AddEveryKindOfEntry();
        _ws.Init();
        _ws.Backup(tree.Root);
        var archive = _ws.PathOf("dump.tar");

        _ws.Cli.Run("dump", "latest", tree.Root, "--output", archive).ShouldSucceed().ShouldNotShowStackTrace();

        var output = _ws.PathOf("out");
        Directory.CreateDirectory(output);
        Tool("tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", archive, "-C", output);
        var unpacked = Path.Combine(output, "src");
        AssertSameAllowingTimeResolution(tree.Root, unpacked, resolutionNs: 100);
        Assert.Equal(Posix.LStat(Path.Combine(unpacked, "docs/hello.txt")).Inode, Posix.LStat(Path.Combine(unpacked, "docs/hardlink-to-hello")).Inode);
        Assert.Equal(FileKind.Fifo, Posix.LStat(Path.Combine(unpacked, "bin/fifo")).Kind);
        Assert.Equal(64L << 20, Posix.LStat(Path.Combine(unpacked, "bin/sparse.img")).Size);
        if (xattrs)
            Assert.Contains(Posix.ListXattrs(Path.Combine(unpacked, "docs/hello.txt")), x => x.Key == TreeBuilder.XattrName && System.Text.Encoding.UTF8.GetString(x.Value) == TreeBuilder.XattrValue);
        // The archive is standard pax: GNU tar lists it without complaint, with the hard link as a link.
        var listing = Tool("tar", "-tvf", archive);
        // (Names are walked in byte order, so the link comes second: hello.txt links to hardlink-to-hello.)
        Assert.Matches(new Regex(@"^h.* src/docs/hello\.txt link to src/docs/hardlink-to-hello$", RegexOptions.Multiline), listing);
    }

    [Fact]
    public void Tar_dump_of_a_path_streams_to_standard_output()
    {
        var tree = _ws.Tree("src");
        tree.File("docs/a.txt", "a").RandomFile("docs/sub/b.bin", 3_000_000, seed: 5).File("other/c.txt", "c");
        _ws.Init();
        _ws.Backup(tree.Root);
        var output = _ws.PathOf("out");
        Directory.CreateDirectory(output);

        Tool("bash", "-c", $"set -o pipefail; STRATA_REPOSITORY='{_ws.RepositoryPath}' STRATA_PASSWORD='{CliRunner.DefaultPassword}' dotnet '{CliRunner.StrataDll}' dump latest '{tree.PathOf("docs")}' | tar -xf - -C '{output}'");

        Assert.Equal(["docs"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName));
        Assert.Equal("a", File.ReadAllText(Path.Combine(output, "docs/a.txt")));
        Assert.Equal(TreeComparison.HashFile(tree.PathOf("docs/sub/b.bin")), TreeComparison.HashFile(Path.Combine(output, "docs/sub/b.bin")));
    }

    [Fact]
    public void Zip_dump_unpacked_by_unzip_has_the_contents_modes_times_and_symlinks()
    {
        var tree = _ws.Tree("src");
        tree.File("docs/hello.txt", "hello\n").RandomFile("bin/random.bin", 2_000_000, seed: 3).TextFile("docs/log.txt", 500_000, seed: 4)
            .File("bin/tool.sh", "#!/bin/sh\n").Mode("bin/tool.sh", "755").File("docs/private", "secret").Mode("docs/private", "600")
            .File("docs/empty", "").Symlink("docs/link", "hello.txt").Directory("empty dir");
        tree.Time("docs/hello.txt", new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero));
        _ws.Init();
        _ws.Backup(tree.Root);
        var archive = _ws.PathOf("dump.zip");

        _ws.Cli.Run("dump", "latest", tree.Root, "--format", "zip", "-o", archive).ShouldSucceed().ShouldNotShowStackTrace();

        var output = _ws.PathOf("out");
        Directory.CreateDirectory(output);
        Tool("unzip", "-q", archive, "-d", output);
        var unpacked = Path.Combine(output, "src");
        var expected = TreeComparison.Scan(tree.Root);
        var actual = TreeComparison.Scan(unpacked);
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (path, e) in expected)
        {
            var a = actual[path];
            Assert.Equal(e.Kind, a.Kind);
            Assert.Equal(e.ContentHash, a.ContentHash);
            Assert.Equal(e.LinkTarget, a.LinkTarget);
            if (e.Kind != FileKind.Symlink) Assert.True(e.Permissions == a.Permissions, $"{path}: mode {Convert.ToString(a.Permissions, 8)}, want {Convert.ToString(e.Permissions, 8)}");
            if (e.Kind == FileKind.Regular) Assert.True(Math.Abs(e.MtimeNs - a.MtimeNs) <= 2_000_000_000L, $"{path}: mtime {a.MtimeNs}, want {e.MtimeNs} (zip keeps 2 s steps)");
        }
        Tool("unzip", "-tq", archive);
    }

    [Fact]
    public void Dump_of_a_path_that_is_not_in_the_snapshot_is_a_clear_error()
    {
        var tree = _ws.Tree("src");
        tree.File("a.txt", "a");
        _ws.Init();
        _ws.Backup(tree.Root);

        var result = _ws.Cli.Run("dump", "latest", "/no/such/path", "-o", _ws.PathOf("x.tar"));

        result.ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("/no/such/path is not in snapshot", result.StdErr);
        Assert.False(File.Exists(_ws.PathOf("x.tar")));
    }

    [Fact]
    public void Dump_into_a_missing_folder_is_a_clear_error_and_leaves_nothing()
    {
        var tree = _ws.Tree("src");
        tree.File("a.txt", "a");
        _ws.Init();
        _ws.Backup(tree.Root);

        var result = _ws.Cli.Run("dump", "latest", "--format", "zip", "-o", _ws.PathOf("missing/x.zip"));

        result.ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("cannot write", result.StdErr);
    }

    [Fact]
    public void An_unknown_format_is_refused()
    {
        _ws.Init();
        var result = _ws.Cli.Run("dump", "latest", "--format", "rar", "-o", _ws.PathOf("x"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("rar", result.StdErr);
        result.ShouldNotShowStackTrace();
    }

    private static string Tool(string file, params string[] args)
    {
        var (code, output) = CliWorkspace.RunTool(file, args);
        Assert.True(code == 0, $"{file} {string.Join(' ', args)} failed ({code}):\n{output}");
        return output;
    }

    /// <summary>Every difference TreeComparison finds, except mtimes equal at <paramref name="resolutionNs"/> (pax times in .NET carry 100 ns ticks).</summary>
    private static void AssertSameAllowingTimeResolution(string expectedRoot, string actualRoot, long resolutionNs)
    {
        var differences = TreeComparison.Differences(expectedRoot, actualRoot).Where(d =>
        {
            var m = Regex.Match(d, @": mtime (-?\d+) ns, want (-?\d+) ns$");
            return !m.Success || Math.Abs(long.Parse(m.Groups[1].Value) - long.Parse(m.Groups[2].Value)) >= resolutionNs;
        }).ToList();
        Assert.True(differences.Count == 0, $"{actualRoot} differs from {expectedRoot}:\n  " + string.Join("\n  ", differences));
    }
}
