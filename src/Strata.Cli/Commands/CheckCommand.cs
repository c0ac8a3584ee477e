using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Check;
using Strata.Cli.Output;
using Strata.Errors;

namespace Strata.Cli.Commands;

internal static class CheckCommand
{
    public static Command Create()
    {
        var readData = new Option<bool>("--read-data") { Description = "Also read, decrypt and re-hash all stored data" };
        var subset = new Option<string?>("--read-data-subset") { Description = "Read only part of the data: N/M (the N-th of M groups; 1/M…M/M together read everything) or P% (a random share)" };
        var command = new Command("check", "Check the repository for errors") { readData, subset };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            string status = "starting";
            var checker = new Checker(repo) { OnProgress = s => status = s };
            CheckResult result;
            using (new ProgressLine(ctx.ShowProgress, () => status))
                result = await checker.RunAsync(new CheckOptions
                {
                    ReadData = ctx.Parse.GetValue(readData),
                    Subset = ctx.Parse.GetValue(subset) is { } s ? ReadDataSubset.Parse(s) : null,
                }, ct);

            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["ok"] = result.Ok,
                    ["snapshots"] = result.Snapshots,
                    ["trees"] = result.Trees,
                    ["packs"] = result.Packs,
                    ["packs_read"] = result.PacksRead,
                    ["blobs_read"] = result.BlobsRead,
                    ["bytes_read"] = result.BytesRead,
                    ["errors"] = JsonOutput.Strings(result.Errors),
                    ["warnings"] = JsonOutput.Strings(result.Warnings),
                    ["damaged_packs"] = JsonOutput.Strings(result.DamagedPacks),
                    ["affected_snapshots"] = new JsonArray(result.AffectedSnapshots.Select(a => (JsonNode)new JsonObject
                    {
                        ["id"] = a.Id,
                        ["time"] = a.Time.ToString("o"),
                        ["hostname"] = a.Host,
                        ["damaged_paths"] = a.DamagedPathCount,
                        ["examples"] = JsonOutput.Strings(a.DamagedPaths),
                    }).ToArray()),
                });
            }
            else
            {
                foreach (var w in result.Warnings) Console.Out.WriteLine($"warning: {w}");
                foreach (var e in result.Errors) Console.Out.WriteLine($"error: {e}");
                foreach (var a in result.AffectedSnapshots)
                {
                    Console.Out.WriteLine($"snapshot {a.Id[..8]} ({a.Time.LocalDateTime:yyyy-MM-dd HH:mm:ss}, {a.Host}) has {a.DamagedPathCount} damaged path(s):");
                    foreach (var p in a.DamagedPaths) Console.Out.WriteLine($"  {p}");
                }
                Console.Out.WriteLine(result.Ok
                    ? $"no errors found: {result.Snapshots} snapshots, {result.Trees} trees, {result.Packs} packs" + (result.PacksRead > 0 ? $"; read {result.PacksRead} packs, {result.BlobsRead} blobs ({Terminal.Bytes(result.BytesRead)})" : "")
                    : $"{result.Errors.Count} error(s) found; {result.AffectedSnapshots.Count} snapshot(s) affected");
            }
            return result.Ok ? ExitCodes.Ok : ExitCodes.Fatal;
        });
    }
}
