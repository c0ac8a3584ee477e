using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Images;

namespace Strata.Cli.Commands;

internal static class ImageDiffCommand
{
    public static Command Create()
    {
        var first = new Argument<string>("SNAPSHOT1") { Description = "Image snapshot id (prefix)" };
        var second = new Argument<string>("SNAPSHOT2") { Description = "Image snapshot id (prefix) or 'latest' (the latest of SNAPSHOT1's disk)" };
        var command = new Command("diff", "Show the byte extents that differ between two image snapshots") { first, second };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.LoadIndexAsync(ct);
            var a = await ImageSnapshots.FindAsync(repo, ctx.Parse.GetValue(first)!, null, ct);
            var b = await ImageSnapshots.FindAsync(repo, ctx.Parse.GetValue(second)!, a.Image!.Name, ct);
            var mapA = await ImageSnapshots.LoadMapAsync(repo, a, ct);
            var mapB = await ImageSnapshots.LoadMapAsync(repo, b, ct);
            var larger = mapB.BlockCount >= mapA.BlockCount ? mapB : mapA;
            var extents = larger.Difference(ReferenceEquals(larger, mapB) ? mapA : mapB).ToExtents(larger.BlockSize, larger.ImageSize);
            long total = extents.Sum(e => e.Length);
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["snapshot1"] = a.Id.ToString(),
                    ["snapshot2"] = b.Id.ToString(),
                    ["size1"] = mapA.ImageSize,
                    ["size2"] = mapB.ImageSize,
                    ["bytes_changed"] = total,
                    ["changed_extents"] = new JsonArray(extents.Select(e => (JsonNode)new JsonObject { ["offset"] = e.Offset, ["length"] = e.Length }).ToArray()),
                });
                return ExitCodes.Ok;
            }
            if (mapA.ImageSize != mapB.ImageSize) Console.Out.WriteLine($"size: {mapA.ImageSize} -> {mapB.ImageSize} bytes");
            foreach (var e in extents) Console.Out.WriteLine($"{e.Offset,16} {e.Length,12}");
            Console.Out.WriteLine($"{extents.Count} extent(s), {Terminal.Bytes(total)} differ");
            return ExitCodes.Ok;
        });
    }
}
