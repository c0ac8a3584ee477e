using Strata.Locking;
using Strata.Tests.Locking;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary><c>strata prune</c>, <c>forget --prune</c> and <c>strata unlock</c> as a user meets them.</summary>
public sealed class PruneCommandTests : IDisposable
{
    private readonly CliWorkspace _ws = new("prune-cli");

    public void Dispose() => _ws.Dispose();

    private long StoredBytes() => (long)_ws.Cli.Run("stats", "--json").ShouldSucceed().Json["stored_bytes"]!;

    [Fact]
    public void Stats_show_stored_bytes_shrinking_after_forget_prune()
    {
        var tree = _ws.Tree("src").RandomFile("old.bin", 3_000_000, seed: 1).RandomFile("kept.bin", 1_000_000, seed: 2);
        _ws.Init();
        _ws.Backup(tree.Root);
        tree.Delete("old.bin");
        _ws.Backup(tree.Root);
        long before = StoredBytes();

        var dryRun = _ws.Cli.Run("forget", "--keep-last", "1", "--prune", "--dry-run").ShouldSucceed();
        Assert.Equal(before, StoredBytes());
        Assert.Contains("remove", dryRun.StdOut);

        var result = _ws.Cli.Run("forget", "--keep-last", "1", "--prune").ShouldSucceed();
        Assert.Contains("deleted", result.StdOut);
        long after = StoredBytes();
        Assert.InRange(before - after, 2_900_000, 3_300_000);
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
    }

    [Fact]
    public void Prune_dry_run_reports_in_text_and_json_and_changes_nothing()
    {
        var tree = _ws.Tree("src").RandomFile("a.bin", 1_000_000, seed: 1);
        _ws.Init();
        _ws.Backup(tree.Root);
        tree.RandomFile("a.bin", 1_000_000, seed: 2);
        _ws.Backup(tree.Root);
        _ws.Cli.Run("forget", "--keep-last", "1").ShouldSucceed();
        var packs = _ws.PackNames();

        Assert.Contains("would condemn", _ws.Cli.Run("prune", "--dry-run").ShouldSucceed().StdOut);
        var json = _ws.Cli.Run("prune", "-n", "--json").ShouldSucceed().Summary;
        Assert.True((bool)json["dry_run"]!);
        Assert.True((long)json["bytes_condemned"]! > 900_000);
        Assert.Equal(packs, _ws.PackNames());
    }

    [Theory]
    [InlineData("--max-unused", "150%", "--max-unused")]
    [InlineData("--max-unused", "lots", "--max-unused")]
    [InlineData("--max-repack-size", "big", "--max-repack-size")]
    [InlineData("--grace", "5m", "--grace")]
    [InlineData("--grace", "-1h", "--grace")]
    public void Bad_prune_arguments_are_named(string option, string value, string named)
    {
        _ws.Init();
        var result = _ws.Cli.Run("prune", option, value).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains(named, result.StdErr);
    }

    [Fact]
    public async Task A_running_prune_makes_a_second_one_exit_11_and_unlock_clears_only_dead_leases()
    {
        _ws.Init();
        using (var repo = await Strata.Repository.Repository.OpenAsync(new Strata.Storage.LocalDirectoryBackend(_ws.RepositoryPath), CliRunner.DefaultPassword))
        {
            var now = DateTimeOffset.UtcNow;
            // A live prune: this test process, with its real start time.
            await LeaseFiles.WriteAsync(repo, new Lease { Kind = Lease.Prune, Hostname = Environment.MachineName, Pid = Environment.ProcessId,
                ProcessStart = long.Parse(File.ReadAllText($"/proc/{Environment.ProcessId}/stat").Split(") ")[1].Split(' ')[19]), Created = now, Refreshed = now });
            await LeaseFiles.WriteAsync(repo, new Lease { Kind = Lease.Backup, Hostname = Environment.MachineName, Pid = int.MaxValue - 1, Created = now, Refreshed = now });
        }

        var second = _ws.Cli.Run("prune").ShouldExitWith(11).ShouldNotShowStackTrace();
        Assert.Contains("another prune or repair is running", second.StdErr);

        var listed = _ws.Cli.Run("unlock", "--list").ShouldSucceed().StdOut;
        Assert.Contains("(live)", listed);
        Assert.Contains("stale", listed);
        var removed = _ws.Cli.Run("unlock").ShouldSucceed().StdOut;
        Assert.Contains("no longer running", removed);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(_ws.RepositoryPath, "locks")));
        _ws.Cli.Run("unlock", "--remove-all").ShouldSucceed();
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_ws.RepositoryPath, "locks")));
        _ws.Cli.Run("prune").ShouldSucceed();
    }
}
