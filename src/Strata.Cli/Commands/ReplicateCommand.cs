using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Replication;

namespace Strata.Cli.Commands;

internal static class ReplicateCommand
{
    public static Command Create()
    {
        var policyFile = new Option<string>("--policy") { Description = "Replication policy (JSON): targets, time windows, bandwidth, snapshots, retention", Required = true };
        var ignoreWindows = new Option<bool>("--ignore-windows") { Description = "Run now even outside the targets' time windows (their limits still apply)" };
        var command = new Command("replicate", """
            Replicate snapshots to the targets of a policy, for unattended use (cron, systemd timers).
            Each target whose time window is open gets the snapshots it lacks (stopping when the window
            closes; the next run resumes), then its retention is applied. A target that fails does not
            stop the others; the exit code is 1 if any failed.
            """) { policyFile, ignoreWindows };
        return command.WithAction(async (ctx, ct) =>
        {
            var policy = ReplicationPolicy.Load(ctx.Parse.GetValue(policyFile)!);
            var sourceLocation = policy.Source ?? ctx.Parse.GetValue(GlobalOptions.Repository)
                ?? (Environment.GetEnvironmentVariable("STRATA_REPOSITORY") is { Length: > 0 } env ? env : null)
                ?? throw new UsageException("no source repository: set \"source\" in the policy, or use --repo / STRATA_REPOSITORY");
            using var source = await ctx.OpenRepositoryAsync(sourceLocation, () => CopyCommand.ReadPassword(ctx, policy.SourcePasswordFile, "FROM", "source repository password"), ct);
            var storage = ctx.StorageOptions;
            bool anyFailed = false;
            var replicator = new Replicator(policy)
            {
                IgnoreWindows = ctx.Parse.GetValue(ignoreWindows),
                OnOutcome = outcome =>
                {
                    anyFailed |= outcome.Status == ReplicationStatus.Failed;
                    Report(ctx, outcome);
                },
            };
            await replicator.RunAsync(source, (t, limit, token) =>
                ctx.OpenRepositoryAsync(t.Repository, () => CopyCommand.ReadPassword(ctx, t.PasswordFile, "TO", $"password of target {t.Name}"), token,
                    storage with { LimitUploadKib = limit ?? storage.LimitUploadKib }), ct);
            return anyFailed ? ExitCodes.Fatal : ExitCodes.Ok;
        });
    }

    private static void Report(CommandContext ctx, TargetOutcome o)
    {
        var status = o.Status switch
        {
            ReplicationStatus.Done => "done",
            ReplicationStatus.OutsideWindow => "outside_window",
            ReplicationStatus.StoppedAtWindowEnd => "stopped_at_window_end",
            _ => "failed",
        };
        if (ctx.Json)
        {
            JsonOutput.Line(new JsonObject
            {
                ["message_type"] = "target",
                ["name"] = o.Target.Name,
                ["repository"] = o.Target.Repository,
                ["status"] = status,
                ["snapshots_copied"] = o.Copy?.Copied.Count ?? 0,
                ["snapshots_already_present"] = o.Copy?.AlreadyPresent.Count ?? 0,
                ["bytes_read"] = o.Copy?.BytesRead ?? 0,
                ["bytes_added"] = o.Copy?.BytesAdded ?? 0,
                ["snapshots_removed"] = o.Removed.Count,
                ["message"] = o.Message,
            });
            return;
        }
        var line = o.Status switch
        {
            ReplicationStatus.Done => $"target {o.Target.Name}: {o.Copy!.Copied.Count} snapshot(s) copied ({Terminal.Bytes(o.Copy.BytesAdded)} sent), {o.Copy.AlreadyPresent.Count} already there, {o.Removed.Count} removed by retention",
            _ => $"target {o.Target.Name}: {o.Message}",
        };
        if (o.Status == ReplicationStatus.Failed) CommandContext.Warn("error: " + line);
        else Console.Out.WriteLine(line);
    }
}
