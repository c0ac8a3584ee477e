using System.Text.Json.Nodes;
using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Integration;

/// <summary>forget needs no lock: backups and forgets from several processes at once all succeed and never break the repository.</summary>
public sealed class ForgetConcurrencyTests : IDisposable
{
    private readonly CliWorkspace _ws = new("forget-concurrent");

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Backups_and_forgets_running_together_all_succeed_and_every_remaining_snapshot_restores()
    {
        var tree = _ws.Tree("src").RandomFile("big.bin", 2_000_000, seed: 1).File("a.txt", "start\n");
        _ws.Init();
        _ws.Backup(tree.Root);
        var states = new Dictionary<string, string>(); // snapshot id -> content of a.txt it must restore

        for (var round = 0; round < 4; round++)
        {
            var text = $"round {round}\n";
            tree.File("a.txt", text).RandomFile($"r{round}.bin", 200_000, seed: 10 + round);
            using var backup1 = _ws.Cli.Start("backup", "--json", tree.Root);
            using var forget1 = _ws.Cli.Start("forget", "--keep-last", "2", "--json");
            using var backup2 = _ws.Cli.Start("backup", "--json", tree.Root);
            using var forget2 = _ws.Cli.Start("forget", "--keep-last", "3");
            var results = await Task.WhenAll(new[] { backup1, forget1, backup2, forget2 }.Select(p => p.WaitAsync(TimeSpan.FromMinutes(3))));
            foreach (var r in results) r.ShouldSucceed().ShouldNotShowStackTrace();
            states[(string)results[0].Summary["snapshot_id"]!] = text;
            states[(string)results[2].Summary["snapshot_id"]!] = text;
            // Both backups of this round finished after the forgets listed, or were decided on as the newest: never both gone.
            var remaining = Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json).Select(s => (string)s!["id"]!).ToList();
            Assert.True(remaining.Contains((string)results[0].Summary["snapshot_id"]!) || remaining.Contains((string)results[2].Summary["snapshot_id"]!),
                $"round {round}: the newest backups were both forgotten");
        }

        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var left = Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json).Select(s => (string)s!["id"]!).ToList();
        Assert.InRange(left.Count, 2, 8);
        foreach (var id in left.Where(states.ContainsKey))
        {
            var target = _ws.PathOf($"out-{id[..8]}");
            _ws.Cli.Run("restore", id, "--target", target).ShouldSucceed();
            Assert.Equal(states[id], File.ReadAllText(CliWorkspace.Restored(target, tree.PathOf("a.txt"))));
        }
        _ws.Cli.Run("forget", "--keep-last", "1").ShouldSucceed();
        Assert.Single(Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json));
    }
}
