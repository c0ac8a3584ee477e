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
}
