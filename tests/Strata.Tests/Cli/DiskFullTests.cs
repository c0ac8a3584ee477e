using Strata.Tests.TestSupport;
using Xunit.Abstractions;

namespace Strata.Tests.Cli;

/// <summary>A disk that fills up mid-backup or mid-restore: a clear error, exit 1, nothing stored is lost, and the next run works.</summary>
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

    [Fact]
    public void An_image_restore_stopped_by_a_full_disk_says_how_to_finish_and_an_incremental_rerun_does()
    {
        var small = _ws.PathOf("small-disk");
        if (_ws.TryMountTmpfs(small, "12m") is { } why)
        {
            output.WriteLine($"no 12 MiB tmpfs for the target ({why}); not run");
            return;
        }
        var cli = _ws.Cli.WithRepository(_ws.PathOf("repo"));
        cli.Run("init").ShouldSucceed();
        var disk = _ws.PathOf("disk.raw");
        File.WriteAllBytes(disk, TestData.RandomBytes(32 << 20, seed: 62));
        cli.Run("image", "backup", disk).ShouldSucceed();
        var target = Path.Combine(small, "disk.raw");

        var full = cli.Run("image", "restore", "latest", "--target", target).ShouldNotShowStackTrace();

        output.WriteLine(full.Describe());
        Assert.NotEqual(0, full.ExitCode);
        Assert.Contains("no space left", full.StdErr);
        Assert.Contains($"{target} is partly restored", full.StdErr);
        Assert.Contains("--incremental", full.StdErr);
        Assert.Equal(0, CliWorkspace.RunTool("mount", "-o", "remount,size=64m", small).Code);
        var rest = cli.Run("image", "restore", "latest", "--target", target, "--incremental", "--json").ShouldSucceed();
        Assert.Equal(File.ReadAllBytes(disk), File.ReadAllBytes(target));
        Assert.InRange((long)rest.Summary["bytes_written"]!, 1, 28L << 20);
    }
}
