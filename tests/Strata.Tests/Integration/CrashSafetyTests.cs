using Strata.Tests.Cli;
using Strata.Tests.TestSupport;
using Xunit.Abstractions;

namespace Strata.Tests.Integration;

/// <summary>
/// A <c>strata backup</c> killed with SIGKILL at any instant (start-up, chunking, uploading packs,
/// writing the index or the snapshot) leaves a repository that <c>check --read-data</c> passes,
/// and the next backup succeeds and restores exactly (docs/FORMAT.md, "Invariants": packs, then
/// index, then snapshot; nothing refers to an object before it is complete).
/// </summary>
public sealed class CrashSafetyTests(ITestOutputHelper output) : IDisposable
{
    private const int Iterations = 8;
    private readonly CliWorkspace _ws = new("crash");

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task Backup_killed_at_random_moments_never_leaves_a_damaged_repository()
    {
        int seed = Environment.GetEnvironmentVariable("STRATA_CRASH_SEED") is { } s ? int.Parse(s) : 20240611;
        var random = new Random(seed);
        output.WriteLine($"seed {seed} (set STRATA_CRASH_SEED to replay)");
        var tree = _ws.Tree("src");
        // About 150 MB: 100 MB incompressible, 50 MB that compresses, and many small files.
        for (int i = 0; i < 4; i++) tree.RandomFile($"random/r{i}.bin", 25_000_000, seed: i);
        for (int i = 0; i < 5; i++) tree.TextFile($"text/t{i}.log", 10_000_000, seed: 10 + i);
        for (int i = 0; i < 100; i++) tree.RandomFile($"small/{i / 10}/s{i:000}.bin", 1000 + 37 * i, seed: 100 + i);
        _ws.Init();

        int killedMidway = 0;
        int window = 2000; // ms; narrowed to the real length of a run once one finishes before its kill
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            if (iteration > 0) Mutate(tree, iteration, random);
            int delay = random.Next(50, window);
            using var backup = _ws.Cli.Start("backup", "--json", tree.Root);
            await Task.Delay(delay);
            bool running = !backup.HasExited;
            backup.Kill();
            var result = await backup.WaitAsync(TimeSpan.FromMinutes(2));
            if (running) killedMidway++;
            output.WriteLine($"iteration {iteration}: killed after {delay} ms, {(running ? "while running" : $"after it finished in {result.Duration.TotalMilliseconds:0} ms with exit {result.ExitCode}")}");
            if (!running)
            {
                result.ShouldSucceed();
                window = Math.Max(300, (int)(result.Duration.TotalMilliseconds * 1.1));
            }

            var check = _ws.Cli.Run("check", "--read-data");
            if (check.ExitCode != 0)
                throw new Xunit.Sdk.XunitException($"after a backup killed at {delay} ms (iteration {iteration}, seed {seed}) the repository fails its check\n{check.Describe()}");
        }
        output.WriteLine($"{killedMidway} of {Iterations} backups were killed while running");

        var final = _ws.Backup(tree.Root);
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var target = _ws.PathOf("out");
        _ws.Cli.Run("restore", (string)final["snapshot_id"]!, "--target", target).ShouldSucceed();
        TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(target, tree.Root));
    }

    /// <summary>New data for every run: one large file replaced, one edited in place, text appended, small files added and removed.</summary>
    private static void Mutate(TreeBuilder tree, int iteration, Random random)
    {
        tree.RandomFile($"random/r{iteration % 4}.bin", 25_000_000, seed: 1000 + iteration);
        var patch = new byte[1 << 20];
        random.NextBytes(patch);
        tree.Overwrite($"random/r{(iteration + 1) % 4}.bin", random.Next(0, 24_000_000), patch);
        tree.Append($"text/t{iteration % 5}.log", string.Concat(Enumerable.Repeat($"iteration {iteration} appended a line\n", 20_000)));
        tree.RandomFile($"small/new/n{iteration}.bin", 50_000, seed: 2000 + iteration);
        tree.Delete($"small/{iteration % 10}/s{iteration * 10 + iteration % 10:000}.bin");
    }
}
