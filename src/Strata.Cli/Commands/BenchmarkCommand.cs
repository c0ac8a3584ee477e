using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Diagnostics;
using Strata.Errors;

namespace Strata.Cli.Commands;

internal static class BenchmarkCommand
{
    public static Command Create()
    {
        var size = new Option<int>("--size") { Description = "MiB of test data per stage (default 64)", DefaultValueFactory = _ => 64 };
        var level = new Option<int>("--compression") { Description = "zstd level to measure (default 1, the repository default)", DefaultValueFactory = _ => 1 };
        var command = new Command("benchmark", "Measure chunking, hashing, compression and encryption speed on this machine (one core)") { size, level };
        return command.WithAction((ctx, _) =>
        {
            int megabytes = ctx.Parse.GetValue(size);
            if (megabytes is < 1 or > 4096) throw new UsageException("--size must be between 1 and 4096 MiB");
            var results = ThroughputBenchmark.Run(megabytes, ctx.Parse.GetValue(level));
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["cores"] = Environment.ProcessorCount,
                    ["stages"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject { ["stage"] = r.Stage, ["mb_per_second"] = Math.Round(r.MegabytesPerSecond, 1) }).ToArray()),
                });
                return Task.FromResult(ExitCodes.Ok);
            }
            Console.Out.WriteLine($"per core, {Environment.ProcessorCount} cores available:");
            foreach (var r in results) Console.Out.WriteLine($"  {r.Stage,-28} {r.MegabytesPerSecond,9:0.0} MB/s");
            return Task.FromResult(ExitCodes.Ok);
        });
    }
}
