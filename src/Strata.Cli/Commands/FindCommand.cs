using System.CommandLine;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Cli.Commands;

internal static class FindCommand
{
    public static Command Create()
    {
        var pattern = new Argument<string[]>("PATTERN") { Description = "Name pattern (* and ?), or a path pattern when it contains '/'", Arity = ArgumentArity.OneOrMore };
        var ignoreCase = new Option<bool>("--ignore-case", "-i") { Description = "Match without regard to case" };
        var filter = new SnapshotFilterOptions();
        var command = new Command("find", "Find files and directories in all snapshots") { pattern, ignoreCase };
        filter.AddTo(command);
        return command.WithAction(async (ctx, ct) =>
        {
            var options = RegexOptions.CultureInvariant | (ctx.Parse.GetValue(ignoreCase) ? RegexOptions.IgnoreCase : RegexOptions.None);
            var matchers = (ctx.Parse.GetValue(pattern) ?? []).Select(p => (OnPath: p.Contains('/'), Regex: new Regex(GlobToRegex(p), options))).ToList();
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.LoadIndexAsync(ct);
            var f = filter.Read(ctx.Parse);
            long total = 0;
            // The same subtree appears in many snapshots: remember which trees hold no match at all.
            var emptyTrees = new HashSet<BlobId>();
            foreach (var snap in (await repo.ListSnapshotsAsync(ct)).Where(s => !s.IsImage && (f is null || f.Matches(s))))
            {
                var hits = new List<(string Path, Node Node)>();
                await SearchAsync(repo, snap.Tree, "", matchers, hits, emptyTrees, ct);
                if (hits.Count == 0) continue;
                total += hits.Count;
                if (ctx.Json)
                {
                    JsonOutput.Line(new JsonObject
                    {
                        ["snapshot"] = snap.Id.ToString(),
                        ["time"] = snap.Time.ToString("o"),
                        ["hostname"] = snap.Hostname,
                        ["matches"] = new JsonArray(hits.Select(h => (JsonNode)new JsonObject
                        {
                            ["path"] = h.Path, ["type"] = h.Node.Type, ["size"] = h.Node.Size,
                            ["mtime"] = h.Node.ModificationTime.ToString("o"),
                        }).ToArray()),
                    });
                    continue;
                }
                Console.Out.WriteLine($"found {hits.Count} in snapshot {SnapshotView.Describe(snap)}:");
                foreach (var (path, node) in hits)
                    Console.Out.WriteLine($"  {path}{(node.IsDirectory ? "/" : "")}  {(node.IsFile ? Terminal.Bytes(node.Size) : node.Type)}  {node.ModificationTime.LocalDateTime:yyyy-MM-dd HH:mm:ss}");
            }
            if (!ctx.Json && total == 0) ctx.Info("no matches");
            return ExitCodes.Ok;
        });
    }

    private static async Task<bool> SearchAsync(Repository.Repository repo, BlobId treeId, string prefix,
        List<(bool OnPath, Regex Regex)> matchers, List<(string, Node)> hits, HashSet<BlobId> emptyTrees, CancellationToken ct)
    {
        if (emptyTrees.Contains(treeId)) return false;
        bool found = false;
        foreach (var node in (await repo.LoadTreeAsync(treeId, ct)).Nodes)
        {
            var path = prefix + "/" + node.Name;
            if (matchers.Any(m => m.Regex.IsMatch(m.OnPath ? path : node.Name))) { hits.Add((path, node)); found = true; }
            if (node.IsDirectory && node.Subtree is { } sub && await SearchAsync(repo, sub, path, matchers, hits, emptyTrees, ct)) found = true;
        }
        // Path patterns depend on where a tree sits, so only name-only searches may skip a tree by its id.
        if (!found && matchers.All(m => !m.OnPath)) emptyTrees.Add(treeId);
        return found;
    }

    private static string GlobToRegex(string glob) =>
        "^" + Regex.Escape(glob).Replace(@"\*\*", ".*").Replace(@"\*", glob.Contains('/') ? "[^/]*" : ".*").Replace(@"\?", ".") + "$";
}
