using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Retention;

namespace Strata.Cli.Commands;

/// <summary>
/// strata forget: removes the snapshots a retention policy does not keep. Rules come from flags,
/// from --policy FILE, or (with neither) from the policy stored in the repository. Blobs stay until
/// prune; the snapshot objects are what goes.
/// </summary>
internal static class ForgetCommand
{
    public static Command Create()
    {
        var keepLast = CountOption("--keep-last", "-l", "Keep the last N snapshots");
        var keepCounts = CalendarUnits.All.ToDictionary(u => u, u => CountOption($"--keep-{u.Adjective()}", null,
            $"Keep the newest snapshot of each of the last N {u.Noun()}s that have snapshots"));
        var keepWithin = new Option<string?>("--keep-within") { Description = "Keep every snapshot within DURATION of the newest one (e.g. 24h, 7d, 1y6m)", HelpName = "DURATION" };
        var keepWithinUnits = CalendarUnits.All.ToDictionary(u => u, u => new Option<string?>($"--keep-within-{u.Adjective()}")
        {
            Description = $"Within DURATION of the newest snapshot, keep the newest snapshot of every {u.Noun()}",
            HelpName = "DURATION",
        });
        var keepTag = new Option<string[]>("--keep-tag") { Description = "Keep every snapshot with these tags (repeatable; a,b = both a and b)", HelpName = "TAGS" };
        var policyFile = new Option<string?>("--policy") { Description = "Read the rules from a policy file (JSON or YAML; see README)", HelpName = "FILE" };
        var groupBy = new Option<string?>("--group-by", "-g") { Description = "Apply the rules to each group of snapshots with the same host, paths, tags (default host,paths; 'none' for one group)", HelpName = "host,paths,tags" };
        var timeZone = new Option<string?>("--time-zone") { Description = "Time zone whose calendar defines hours, days, weeks (IANA name; default the policy's, else local)", HelpName = "ZONE" };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Show what would be kept and removed, and why; remove nothing" };
        var allowRemoveAll = new Option<bool>("--unsafe-allow-remove-all") { Description = "Allow rules that keep no snapshot of a group (or no rules at all: remove every selected snapshot)" };
        var prune = new Option<bool>("--prune") { Description = "Run prune afterwards to free the data only the removed snapshots used (takes prune's --max-unused, --max-repack-size, --grace)" };
        var filter = new SnapshotFilterOptions();

        var ids = new Argument<string[]>("SNAPSHOT")
        {
            Arity = ArgumentArity.ZeroOrMore,
            Description = "Remove exactly these snapshots (id prefix or 'latest') instead of applying keep rules",
        };
        var command = new Command("forget", "Remove snapshots by retention rules, or the snapshots named (their data stays until prune)");
        command.Arguments.Add(ids);
        command.Options.Add(keepLast);
        foreach (var o in keepCounts.Values) command.Options.Add(o);
        command.Options.Add(keepWithin);
        foreach (var o in keepWithinUnits.Values) command.Options.Add(o);
        command.Options.Add(keepTag);
        command.Options.Add(policyFile);
        command.Options.Add(groupBy);
        command.Options.Add(timeZone);
        command.Options.Add(dryRun);
        command.Options.Add(allowRemoveAll);
        command.Options.Add(prune);
        PruneCommand.AddTo(command);
        filter.AddTo(command);

        return command.WithAction(async (ctx, ct) =>
        {
            var p = ctx.Parse;
            Option[] ruleOptions = [keepLast, .. keepCounts.Values, keepWithin, .. keepWithinUnits.Values, keepTag];
            var flagsGiven = ruleOptions.Any(o => p.GetResult(o) is not null);
            var file = p.GetValue(policyFile);
            if (flagsGiven && file is not null) throw new UsageException("give keep rules either as --keep-* flags or in --policy FILE, not both");

            if (p.GetValue(ids) is { Length: > 0 } named)
            {
                if (flagsGiven || file is not null || filter.Read(p) is not null || p.GetResult(groupBy) is not null)
                    throw new UsageException("name snapshots to remove, or give keep rules (--keep-*, --policy, --host/--path/--tag, --group-by), not both");
                using var namedRepo = await ctx.OpenRepositoryAsync(ct);
                return await RemoveNamedAsync(ctx, namedRepo, named, p.GetValue(dryRun), p.GetValue(prune), ct);
            }

            using var repo = await ctx.OpenRepositoryAsync(ct);
            RetentionPolicy policy;
            string source;
            if (flagsGiven)
            {
                var tiers = new List<RetentionTier>();
                if (p.GetValue(keepWithin) is { } within) tiers.Add(new RetentionTier(RetentionDuration.Parse(within, "--keep-within"), null));
                foreach (var (unit, option) in keepWithinUnits)
                    if (p.GetValue(option) is { } d) tiers.Add(new RetentionTier(RetentionDuration.Parse(d, option.Name), unit));
                policy = new RetentionPolicy
                {
                    KeepLast = FlagCount(p, keepLast),
                    KeepHourly = FlagCount(p, keepCounts[CalendarUnit.Hour]),
                    KeepDaily = FlagCount(p, keepCounts[CalendarUnit.Day]),
                    KeepWeekly = FlagCount(p, keepCounts[CalendarUnit.Week]),
                    KeepMonthly = FlagCount(p, keepCounts[CalendarUnit.Month]),
                    KeepYearly = FlagCount(p, keepCounts[CalendarUnit.Year]),
                    KeepTags = p.Values(keepTag).Select(t => (IReadOnlyList<string>)t.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList(),
                    Tiers = tiers,
                };
                source = "flags";
            }
            else if (file is not null)
            {
                policy = RetentionPolicyDocument.ParseFile(file);
                source = $"policy file {file}";
            }
            else
            {
                policy = await StoredRetentionPolicy.LoadAsync(repo, ct)
                    ?? (p.GetValue(allowRemoveAll) ? new RetentionPolicy() : throw new UsageException(
                        "no keep rules: give --keep-* flags or --policy FILE, or store a policy in the repository with 'strata policy set FILE'"));
                source = "the repository's policy";
            }
            if (p.GetValue(groupBy) is { } g) policy = policy with { GroupBy = SnapshotGroupings.Parse(g, "--group-by") };
            if (p.GetValue(timeZone) is { } z)
            {
                policy = policy with { TimeZone = z };
                try { RetentionPolicy.ResolveTimeZone(z); }
                catch (UsageException) { throw new UsageException($"--time-zone: '{z}' is not a known time zone (use an IANA name such as Europe/Berlin or UTC)"); }
            }
            policy.Validate();
            var zone = RetentionPolicy.ResolveTimeZone(policy.TimeZone);

            var forgetter = new Forgetter(repo)
            {
                OnRemoved = s => ReportRemoved(ctx, s),
                // The plan is printed before anything is deleted, so the output says why each one went.
                OnPlanned = groups => Report(ctx, groups, policy, source, zone),
            };
            var options = new ForgetOptions { Filter = filter.Read(p), DryRun = p.GetValue(dryRun), AllowRemoveAll = p.GetValue(allowRemoveAll) };

            var result = await forgetter.RunAsync(policy, zone, options, ct);

            if (ctx.Json)
            {
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["dry_run"] = result.DryRun,
                    ["policy_source"] = source,
                    ["policy"] = RetentionPolicyDocument.ToJson(policy),
                    ["time_zone"] = zone.Id,
                    ["groups"] = result.Groups.Count,
                    ["kept"] = result.KeptCount,
                    ["removed"] = result.Removed.Count,
                    ["would_remove"] = result.RemoveCount,
                    ["removed_ids"] = new JsonArray(result.Removed.Select(s => (JsonNode)JsonValue.Create(s.Id.ToString())).ToArray()),
                });
            }
            else if (result.DryRun)
                ctx.Info($"dry run: would keep {result.KeptCount} and remove {result.RemoveCount} snapshot{(result.RemoveCount == 1 ? "" : "s")}; nothing was removed");
            else
                ctx.Info($"kept {result.KeptCount}, removed {result.Removed.Count} snapshot{(result.Removed.Count == 1 ? "" : "s")}" +
                                      (result.Removed.Count > 0 && !p.GetValue(prune) ? " (their data is freed by 'strata prune')" : ""));
            if (p.GetValue(prune) && !result.DryRun) await PruneCommand.RunAsync(ctx, repo, dryRun: false, ct);
            return ExitCodes.Ok;
        });
    }

    private static async Task<int> RemoveNamedAsync(CommandContext ctx, Repository.Repository repo, IReadOnlyList<string> named, bool dryRun, bool prune, CancellationToken ct)
    {
        var forgetter = new Forgetter(repo) { OnRemoved = s => ReportRemoved(ctx, s) };
        var removed = await forgetter.RemoveAsync(named, dryRun, ct);
        if (ctx.Json)
        {
            JsonOutput.Line(new JsonObject
            {
                ["message_type"] = "summary",
                ["dry_run"] = dryRun,
                ["removed"] = dryRun ? 0 : removed.Count,
                ["would_remove"] = removed.Count,
                ["removed_ids"] = new JsonArray(removed.Select(s => (JsonNode)JsonValue.Create(s.Id.ToString())).ToArray()),
            });
        }
        else if (dryRun)
        {
            foreach (var s in removed) ctx.Info($"would remove snapshot {SnapshotView.Describe(s)}");
            ctx.Info($"dry run: would remove {removed.Count} snapshot{(removed.Count == 1 ? "" : "s")}; nothing was removed");
        }
        else
        {
            ctx.Info($"removed {removed.Count} snapshot{(removed.Count == 1 ? "" : "s")}" + (prune ? "" : " (their data is freed by 'strata prune')"));
        }
        if (prune && !dryRun) await PruneCommand.RunAsync(ctx, repo, dryRun: false, ct);
        return ExitCodes.Ok;
    }

    private static void ReportRemoved(CommandContext ctx, Snapshots.Snapshot s)
    {
        if (ctx.Json) JsonOutput.Line(new JsonObject { ["message_type"] = "removed", ["id"] = s.Id.ToString(), ["short_id"] = s.Id.ToShortString() });
        else ctx.Info($"removed snapshot {SnapshotView.Describe(s)}");
    }

    private static void Report(CommandContext ctx, IReadOnlyList<SnapshotGroup> groups, RetentionPolicy policy, string source, TimeZoneInfo zone)
    {
        if (ctx.Json)
        {
            foreach (var group in groups) JsonOutput.Line(RetentionView.GroupJson(group, zone));
            return;
        }
        if (ctx.Quiet) return;
        Console.Out.WriteLine($"rules from {source}:");
        foreach (var line in RetentionView.Describe(policy)) Console.Out.WriteLine($"  {line}");
        foreach (var group in groups)
        {
            Console.Out.WriteLine();
            Console.Out.WriteLine($"{group.Key}: keep {group.Kept.Count()}, remove {group.Removed.Count()}");
            Console.Out.WriteLine($"{"ID",-9} {"Time",-25}  {"Action",-6}  Reasons");
            foreach (var d in group.Decisions)
                Console.Out.WriteLine($"{d.Snapshot.Id.ToShortString(),-9} {RetentionView.FormatTime(d.Snapshot.Time, zone),-25}  {(d.Keep ? "keep" : "remove"),-6}  {string.Join(", ", d.Reasons)}");
        }
        Console.Out.WriteLine();
    }

    private static Option<int?> CountOption(string name, string? alias, string description)
    {
        var option = alias is null ? new Option<int?>(name) : new Option<int?>(name, alias);
        option.Description = description + " (-1 = unlimited)";
        option.HelpName = "N";
        return option;
    }

    private static int FlagCount(ParseResult parse, Option<int?> option) => parse.GetValue(option) switch
    {
        null => 0,
        < -1 and var n => throw new UsageException($"{option.Name}: {n} is not a count (give a number of snapshots, or -1 for unlimited)"),
        var n => n.Value,
    };
}
