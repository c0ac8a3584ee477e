using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Images;

namespace Strata.Cli.Commands;

internal static class ImageLsCommand
{
    public static Command Create()
    {
        var name = new Option<string?>("--name") { Description = "Only the recovery points of this disk" };
        var command = new Command("ls", "List image snapshots (recovery points of disks)") { name };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var only = ctx.Parse.GetValue(name);
            var snapshots = (await ImageSnapshots.ListAsync(repo, ct)).Where(s => only is null || s.Image!.Name == only).ToList();
            if (ctx.Json)
            {
                JsonOutput.Line(new JsonArray(snapshots.Select(s => (JsonNode)SnapshotView.ToJson(s)).ToArray()));
                return ExitCodes.Ok;
            }
            Console.Out.WriteLine($"{"ID",-9} {"Time",-19}  {"Size",10} {"Read",10} {"Changed",10} {"Added",10}  {"CBT",-22} Name");
            Console.Out.WriteLine(new string('-', 110));
            foreach (var s in snapshots)
            {
                var i = s.Image!;
                var cbt = i.Cbt is null ? "-" : i.FullRead ? i.Cbt + " (full)" : i.Cbt;
                Console.Out.WriteLine($"{s.Id.ToShortString(),-9} {s.Time.LocalDateTime:yyyy-MM-dd HH:mm:ss}  {Terminal.Bytes(i.Size),10} {Terminal.Bytes(i.BytesRead),10} " +
                    $"{Terminal.Bytes(i.BytesChanged),10} {Terminal.Bytes(i.DataAdded),10}  {cbt,-22} {i.Name}");
            }
            Console.Out.WriteLine(new string('-', 110));
            Console.Out.WriteLine($"{snapshots.Count} image snapshot{(snapshots.Count == 1 ? "" : "s")}");
            return ExitCodes.Ok;
        });
    }
}
