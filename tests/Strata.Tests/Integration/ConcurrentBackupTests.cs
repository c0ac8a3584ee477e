using System.Text.Json.Nodes;
using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Integration;

/// <summary>Several writers, no global lock: two <c>strata backup</c> processes into one repository at once both succeed.</summary>
public sealed class ConcurrentBackupTests : IDisposable
{
    private readonly CliWorkspace _ws = new("concurrent");

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Two_backups_into_one_repository_at_the_same_time_both_succeed_and_restore_exactly()
    {
        var a = _ws.Tree("machine-a");
        var b = _ws.Tree("machine-b");
        foreach (var (tree, seed) in new[] { (a, 1), (b, 2) })
        {
            tree.RandomFile("own.bin", 30_000_000, seed: seed).TextFile("log.txt", 8_000_000, seed: seed)
                .RandomFile("shared.bin", 10_000_000, seed: 77); // the same content on both: both writers may store it
            for (int i = 0; i < 50; i++) tree.File($"small/{i}.txt", $"{seed}-{i}");
        }
        _ws.Init();

        for (int round = 0; round < 2; round++)
        {
            if (round > 0)
            {
                a.RandomFile("own.bin", 30_000_000, seed: 11).File("small/new.txt", "new in a");
                b.Overwrite("own.bin", 5_000_000, new byte[2_000_000]).Delete("small/3.txt");
            }
            using var first = _ws.Cli.Start("backup", "--json", a.Root);
            using var second = _ws.Cli.Start("backup", "--json", b.Root);
            var results = await Task.WhenAll(first.WaitAsync(TimeSpan.FromMinutes(3)), second.WaitAsync(TimeSpan.FromMinutes(3)));
            foreach (var r in results) r.ShouldSucceed().ShouldNotShowStackTrace();

            var snapshots = Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json);
            Assert.Equal(2 * (round + 1), snapshots.Count);
            _ws.Cli.Run("check", "--read-data").ShouldSucceed();
            foreach (var (tree, result) in new[] { (a, results[0]), (b, results[1]) })
            {
                var target = _ws.PathOf($"out-{round}-{Path.GetFileName(tree.Root)}");
                _ws.Cli.Run("restore", (string)result.Summary["snapshot_id"]!, "--target", target).ShouldSucceed();
                TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(target, tree.Root));
            }
        }
    }
}
