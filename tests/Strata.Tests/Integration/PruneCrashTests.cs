using Strata.Tests.Cli;
using Strata.Tests.TestSupport;
using Xunit.Abstractions;

namespace Strata.Tests.Integration;

/// <summary>
/// A <c>strata prune</c> killed with SIGKILL at any instant (marking, repacking, writing the garbage
/// record, rewriting the index, deleting packs) leaves a repository that <c>check --read-data</c>
/// passes; the next prune finishes the work and a new backup succeeds.
/// </summary>
public sealed class PruneCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Iterations = 8;
    private readonly CliWorkspace _ws = new("prune-crash");

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Prune_killed_at_random_moments_never_leaves_a_damaged_repository()
    {
        int seed = Environment.GetEnvironmentVariable("STRATA_CRASH_SEED") is { } s ? int.Parse(s) : 20261122;
        var random = new Random(seed);
        output.WriteLine($"seed {seed} (set STRATA_CRASH_SEED to replay)");
        var tree = _ws.Tree("src");
        for (int i = 0; i < 120; i++) tree.RandomFile($"d{i % 6}/f{i:000}.bin", 150_000, seed: i);
        _ws.Cli.Run("init", "--pack-size", "1").ShouldSucceed();

        int window = 1500;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            // Each round: change a third of the files, back up, forget the oldest snapshot, prune with a kill.
            for (int i = 0; i < 40; i++) tree.RandomFile($"d{i % 6}/f{(i * 3 + iteration) % 120:000}.bin", 150_000, seed: 1000 * (iteration + 1) + i);
            _ws.Backup(tree.Root);
            var snapshots = Directory.EnumerateFiles(Path.Combine(_ws.RepositoryPath, "snapshots")).ToList();
            if (snapshots.Count > 2)
            {
                var oldest = _ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json.AsArray().First()!["id"]!.ToString();
                File.Delete(Path.Combine(_ws.RepositoryPath, "snapshots", oldest));
            }

            int delay = random.Next(20, window);
            using var prune = _ws.Cli.Start("prune", "--max-unused", "0%");
            await Task.Delay(delay);
            bool running = !prune.HasExited;
            prune.Kill();
            var result = await prune.WaitAsync(TimeSpan.FromMinutes(2));
            output.WriteLine($"iteration {iteration}: prune killed after {delay} ms, {(running ? "while running" : $"after it finished in {result.Duration.TotalMilliseconds:0} ms")}");
            if (!running)
            {
                result.ShouldSucceed();
                window = Math.Max(200, (int)(result.Duration.TotalMilliseconds * 1.1));
            }
            var check = _ws.Cli.Run("check", "--read-data");
            if (check.ExitCode != 0)
                throw new Xunit.Sdk.XunitException($"after a prune killed at {delay} ms (iteration {iteration}, seed {seed}) the repository fails its check\n{check.Describe()}");
        }

        // The next prune completes what was left, and everything still restores.
        output.WriteLine(_ws.Cli.Run("prune", "--max-unused", "0%", "--json").ShouldSucceed().StdOut);
        var final = _ws.Backup(tree.Root);
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var dryRun = _ws.Cli.Run("prune", "--dry-run", "--max-unused", "0%", "--json").ShouldSucceed().Summary;
        output.WriteLine(dryRun.ToJsonString());
        Assert.Equal(0, (int)dryRun["packs_condemned"]!);
        foreach (var snapshot in _ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json.AsArray())
            _ws.Cli.Run("restore", snapshot!["id"]!.ToString(), "--target", _ws.PathOf("out", snapshot["id"]!.ToString())).ShouldSucceed();
        TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(_ws.PathOf("out", (string)final["snapshot_id"]!), tree.Root));
    }
}
