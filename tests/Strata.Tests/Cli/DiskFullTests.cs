using Xunit.Abstractions;

namespace Strata.Tests.Cli;

/// <summary>A repository whose disk fills up mid-backup: a clear error, exit 1, a consistent repository, and the next backup works.</summary>
public sealed class DiskFullTests(ITestOutputHelper output) : IDisposable
{
    private readonly CliWorkspace _ws = new("disk-full");

    public void Dispose() => _ws.Dispose();

    [Fact]
    public void Backup_onto_a_full_disk_fails_clearly_and_leaves_a_consistent_repository()
    {
        var small = _ws.PathOf("small-disk");
        if (_ws.TryMountTmpfs(small, "30m") is { } why)
        {
            output.WriteLine($"no 30 MiB tmpfs for the repository ({why}); not run");
            return;
        }
        var cli = _ws.Cli.WithRepository(Path.Combine(small, "repo"));
        cli.Run("init").ShouldSucceed();
        var tree = _ws.Tree("src");
        tree.File("notes.txt", "kept").RandomFile("big.bin", 60_000_000, seed: 60);
        var first = _ws.Tree("first").File("a.txt", "an earlier snapshot that must survive");
        cli.Run("backup", first.Root).ShouldSucceed();

        var full = cli.Run("backup", tree.Root).ShouldExitWith(1).ShouldNotShowStackTrace();

        output.WriteLine(full.StdErr);
        Assert.Contains("space", full.StdErr, StringComparison.OrdinalIgnoreCase);
        Assert.True(full.StdErrLines.Count() <= 3, "a full disk should be reported in a line or two\n" + full.Describe());
        cli.Run("check", "--read-data").ShouldSucceed();
        Assert.Single(System.Text.Json.Nodes.JsonNode.Parse(cli.Run("snapshots", "--json").ShouldSucceed().StdOut)!.AsArray());

        // Less to store now: the same repository takes the next backup.
        tree.Delete("big.bin");
        cli.Run("backup", tree.Root).ShouldSucceed();
        cli.Run("check", "--read-data").ShouldSucceed();
        cli.Run("restore", "latest", "--target", _ws.PathOf("out")).ShouldSucceed();
        Assert.Equal("kept", File.ReadAllText(CliWorkspace.Restored(_ws.PathOf("out"), tree.PathOf("notes.txt"))));
        cli.Run("restore", "latest", "--path", first.Root, "--target", _ws.PathOf("out2")).ShouldSucceed();
        Assert.Equal("an earlier snapshot that must survive", File.ReadAllText(CliWorkspace.Restored(_ws.PathOf("out2"), first.PathOf("a.txt"))));
    }

    [Fact]
    public void Restore_onto_a_full_disk_names_the_file_that_did_not_fit_and_restores_the_rest()
    {
        var small = _ws.PathOf("small-target");
        if (_ws.TryMountTmpfs(small, "4m") is { } why)
        {
            output.WriteLine($"no 4 MiB tmpfs for the target ({why}); not run");
            return;
        }
        var cli = _ws.Cli.WithRepository(_ws.PathOf("repo"));
        cli.Run("init").ShouldSucceed();
        // Large files are written past the page cache, small ones through it: both must report the full disk.
        var tree = _ws.Tree("src").File("a-notes.txt", "kept").RandomFile("b-big.bin", 6_000_000, seed: 61);
        cli.Run("backup", tree.Root).ShouldSucceed();

        var full = cli.Run("restore", "latest", "--target", small).ShouldNotShowStackTrace();

        output.WriteLine(full.Describe());
        Assert.NotEqual(0, full.ExitCode);
        Assert.Contains("b-big.bin", full.StdErr);
        Assert.Contains("space", full.StdErr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("kept", File.ReadAllText(CliWorkspace.Restored(small, tree.PathOf("a-notes.txt"))));
    }
}
