using System.Diagnostics;
using System.Text.Json.Nodes;
using Strata.Tests.Cli;
using Strata.Tests.TestSupport;
using Xunit.Abstractions;

namespace Strata.Tests.Integration;

/// <summary>
/// Garbage collection needs no global lock: backups of a changing tree from two "hosts" and
/// <c>forget --prune</c> run side by side for a while; afterwards the repository passes
/// <c>check --read-data</c> and every remaining snapshot restores byte for byte to the version
/// of the tree it was taken of.
/// </summary>
public sealed class PruneConcurrencyTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan RunFor = TimeSpan.FromSeconds(25);
    private readonly CliWorkspace _ws = new("prune-concurrent");

    public void Dispose() => _ws.Dispose();

    /// <summary>Version <paramref name="v"/> of the tree: 40 files, each changing every fifth version, so neighbours share most data.</summary>
    private TreeBuilder Version(string host, int v)
    {
        var tree = _ws.Tree($"{host}-v{v:000}");
        for (int j = 0; j < 40; j++) tree.RandomFile($"d{j % 4}/f{j:00}.bin", 60_000 + 997 * j, seed: j * 1000 + (v + j) / 5);
        tree.File("version.txt", $"{host} {v}\n");
        return tree;
    }

    private async Task<List<(string Snapshot, TreeBuilder Tree)>> BackupLoopAsync(string host, Stopwatch clock)
    {
        var taken = new List<(string, TreeBuilder)>();
        for (int v = 0; clock.Elapsed < RunFor; v++)
        {
            var tree = Version(host, v);
            // Each version has its own folder; forget groups by host only, so they form one history per host.
            var result = (await _ws.Cli.RunAsync(["backup", "--json", "--host", host, tree.Root])).ShouldSucceed();
            taken.Add(((string)result.Summary["snapshot_id"]!, tree));
        }
        return taken;
    }

    private async Task<int> PruneLoopAsync(Stopwatch clock)
    {
        int runs = 0;
        while (clock.Elapsed < RunFor)
        {
            var result = await _ws.Cli.RunAsync(["forget", "--keep-last", "2", "--group-by", "host", "--prune", "--max-unused", "0%", "--json"]);
            result.ShouldSucceed().ShouldNotShowStackTrace();
            output.WriteLine($"forget --prune: {result.JsonObjects.LastOrDefault()?.ToJsonString()}");
            runs++;
        }
        return runs;
    }

    [Fact]
    public async Task Backups_and_forget_prune_running_together_never_lose_data()
    {
        _ws.Cli.Run("init", "--pack-size", "1").ShouldSucceed();
        var clock = Stopwatch.StartNew();
        var alpha = BackupLoopAsync("alpha", clock);
        var beta = BackupLoopAsync("beta", clock);
        var pruner = PruneLoopAsync(clock);
        await Task.WhenAll(alpha, beta, pruner);
        var (alphaTaken, betaTaken, pruneRuns) = (await alpha, await beta, await pruner);
        output.WriteLine($"{alphaTaken.Count} + {betaTaken.Count} backups, {pruneRuns} forget --prune runs");
        Assert.True(pruneRuns >= 2, "prune should have run several times during the backups");

        // A last prune finishes what waited for the backups, then everything is verified.
        _ws.Cli.Run("prune", "--max-unused", "0%").ShouldSucceed();
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var remaining = Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json).Select(s => (string)s!["id"]!).ToHashSet();
        var versions = alphaTaken.Concat(betaTaken).Where(t => remaining.Contains(t.Snapshot)).ToList();
        Assert.True(versions.Count >= 4, $"{versions.Count} snapshots remain");
        foreach (var (snapshot, tree) in versions)
        {
            var target = _ws.PathOf("out", snapshot[..8]);
            _ws.Cli.Run("restore", snapshot, "--target", target).ShouldSucceed();
            TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(target, tree.Root));
        }
    }
}
