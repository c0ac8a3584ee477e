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
        // File-level access (issue 6): 'image ls SNAPSHOT --files [PATH]' lists inside the image's ext4 file system.
        var snapshot = new Argument<string?>("SNAPSHOT") { Description = "With --files: the image snapshot, id (prefix) or 'latest'", Arity = ArgumentArity.ZeroOrOne };
        var path = new Argument<string?>("PATH") { Description = "With --files: list this path's entries (default: everything)", Arity = ArgumentArity.ZeroOrOne };
        var files = new Option<bool>("--files") { Description = "List the files in the ext4 file system inside SNAPSHOT (MBR/GPT partitions understood) instead of the snapshots" };
        var partition = new Option<int?>("--partition") { Description = "With --files: the partition to read, numbered as Linux does (needed only when several hold ext4)" };
        var longFormat = new Option<bool>("--long", "-l") { Description = "With --files: show mode, owner, size and time" };
        var recursive = new Option<bool>("--recursive") { Description = "With --files and PATH: list everything below PATH, not just its entries" };
        var command = new Command("ls", "List image snapshots (recovery points of disks), or with --files the files inside one") { name, snapshot, path, files, partition, longFormat, recursive };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            if (ctx.Parse.GetValue(files))
            {
                var reference = ctx.Parse.GetValue(snapshot) ?? throw new UsageException("--files needs the image snapshot to list (an id or 'latest')");
                var snap = await ImageSnapshots.FindAsync(repo, reference, ctx.Parse.GetValue(name), ct);
                return await ImageFiles.ListAsync(ctx, repo, snap, ctx.Parse.GetValue(path), ctx.Parse.GetValue(partition), ctx.Parse.GetValue(longFormat), ctx.Parse.GetValue(recursive), ct);
            }
            if (ctx.Parse.GetValue(snapshot) is string given)
                throw new UsageException($"to list the files inside image snapshot {given}, add --files");
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
