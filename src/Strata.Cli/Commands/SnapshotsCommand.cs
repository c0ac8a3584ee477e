using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;

namespace Strata.Cli.Commands;

internal static class SnapshotsCommand
{
    public static Command Create()
    {
        var filter = new SnapshotFilterOptions();
        var command = new Command("snapshots", "List snapshots");
        filter.AddTo(command);
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var f = filter.Read(ctx.Parse);
            var snapshots = (await repo.ListSnapshotsAsync(ct)).Where(s => f is null || f.Matches(s)).ToList();
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonArray(snapshots.Select(s => (JsonNode)SnapshotView.ToJson(s)).ToArray()));
                return ExitCodes.Ok;
            }
            Console.Out.WriteLine($"{"ID",-9} {"Time",-19}  {"Host",-16} {"Tags",-12} {"Size",10}  Paths");
            Console.Out.WriteLine(new string('-', 90));
            foreach (var s in snapshots)
            {
                var size = s.Summary is { } sum ? Terminal.Bytes(sum.TotalBytesProcessed) : s.Image is { } image ? Terminal.Bytes(image.Size) : "";
                Console.Out.WriteLine($"{s.Id.ToShortString(),-9} {s.Time.LocalDateTime:yyyy-MM-dd HH:mm:ss}  {s.Hostname,-16} {string.Join(",", s.Tags ?? []),-12} {size,10}  {string.Join(" ", s.Paths)}");
            }
            Console.Out.WriteLine(new string('-', 90));
            Console.Out.WriteLine($"{snapshots.Count} snapshot{(snapshots.Count == 1 ? "" : "s")}");
            return ExitCodes.Ok;
        });
    }
}
