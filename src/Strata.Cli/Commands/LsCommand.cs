using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Snapshots;

namespace Strata.Cli.Commands;

internal static class LsCommand
{
    public static Command Create()
    {
        var snapshot = new Argument<string>("SNAPSHOT") { Description = "Snapshot id (prefix) or 'latest'" };
        var path = new Argument<string?>("PATH") { Description = "List only below this path (as backed up)", Arity = ArgumentArity.ZeroOrOne };
        var longFormat = new Option<bool>("--long", "-l") { Description = "Show mode, owner, size and time" };
        var recursive = new Option<bool>("--recursive") { Description = "With PATH: list everything below it, not just its entries" };
        var filter = new SnapshotFilterOptions();
        var command = new Command("ls", "List the files in a snapshot") { snapshot, path, longFormat, recursive };
        filter.AddTo(command);
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.LoadIndexAsync(ct);
            var snap = await repo.FindSnapshotAsync(ctx.Parse.GetValue(snapshot)!, filter.Read(ctx.Parse), ct);
            Images.ImageSnapshots.RefuseImage(snap, "strata image ls");
            var start = (ctx.Parse.GetValue(path) ?? "/").TrimEnd('/');
            var node = await TreeWalker.FindAsync(repo, snap.Tree, start, ct) ?? throw new UsageException($"{start} is not in snapshot {snap.Id.ToShortString()}");
            bool all = ctx.Parse.GetValue(path) is null || ctx.Parse.GetValue(recursive);
            if (!ctx.Json) ctx.Info($"snapshot {SnapshotView.Describe(snap)}:");
            if (!node.IsDirectory)
            {
                Print(ctx, start, node, ctx.Parse.GetValue(longFormat));
                return ExitCodes.Ok;
            }
            if (node.Subtree is not { } subtree) return ExitCodes.Ok;
            if (all)
            {
                await foreach (var (p, n) in TreeWalker.WalkAsync(repo, subtree, start, ct)) Print(ctx, p, n, ctx.Parse.GetValue(longFormat));
            }
            else
            {
                foreach (var n in (await repo.LoadTreeAsync(subtree, ct)).Nodes) Print(ctx, start + "/" + n.Name, n, ctx.Parse.GetValue(longFormat));
            }
            return ExitCodes.Ok;
        });
    }

    internal static void Print(CommandContext ctx, string path, Node n, bool longFormat)
    {
        if (ctx.Json)
        {
            JsonOutput.Line(new JsonObject
            {
                ["path"] = path,
                ["name"] = n.Name,
                ["type"] = n.Type,
                ["mode"] = n.Mode,
                ["uid"] = n.Uid,
                ["gid"] = n.Gid,
                ["size"] = n.Size,
                ["mtime"] = n.ModificationTime.ToString("o"),
                ["link_target"] = n.LinkTarget,
            });
            return;
        }
        if (!longFormat) { Console.Out.WriteLine(path); return; }
        var time = n.ModificationTime.LocalDateTime;
        var link = n.IsSymlink ? $" -> {n.LinkTarget}" : "";
        Console.Out.WriteLine($"{ModeString(n)} {n.User ?? n.Uid.ToString(),-8} {n.Group ?? n.Gid.ToString(),-8} {n.Size,12} {time:yyyy-MM-dd HH:mm:ss} {path}{link}");
    }

    private static string ModeString(Node n)
    {
        char type = n.Type switch { Node.DirType => 'd', Node.SymlinkType => 'l', Node.FifoType => 'p', Node.SocketType => 's', Node.CharDeviceType => 'c', Node.BlockDeviceType => 'b', _ => '-' };
        var chars = new char[10];
        chars[0] = type;
        const string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) chars[i + 1] = (n.Mode & (1u << (8 - i))) != 0 ? rwx[i] : '-';
        return new string(chars);
    }
}
