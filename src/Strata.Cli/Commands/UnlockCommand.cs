using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Locking;

namespace Strata.Cli.Commands;

internal static class UnlockCommand
{
    public static Command Create()
    {
        var all = new Option<bool>("--remove-all") { Description = "Remove every lease, also those of processes that look alive (only when you know none is running)" };
        var list = new Option<bool>("--list") { Description = "Only list the leases and whether they are stale" };
        var command = new Command("unlock", "Remove stale leases left by processes that died (a lease is stale when its process on this host is gone or it was not refreshed for 30 minutes)")
        {
            all, list,
        };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var entries = ctx.Parse.GetValue(list)
                ? await Leases.ListAsync(repo, ct)
                : await Leases.RemoveAsync(repo, ctx.Parse.GetValue(all), ct);
            var verb = ctx.Parse.GetValue(list) ? "lease" : "removed";
            if (ctx.Json)
            {
                foreach (var e in entries)
                    JsonOutput.Line(new JsonObject
                    {
                        ["message_type"] = verb,
                        ["id"] = e.Id,
                        ["kind"] = e.Lease.Kind,
                        ["hostname"] = e.Lease.Hostname,
                        ["pid"] = e.Lease.Pid,
                        ["created"] = e.Lease.Created.ToString("o"),
                        ["refreshed"] = e.Lease.Refreshed.ToString("o"),
                        ["stale"] = e.IsStale,
                        ["stale_reason"] = e.StaleReason,
                    });
            }
            else
            {
                foreach (var e in entries)
                    Console.Out.WriteLine($"{verb} {e.Id[..8]}: {e.Lease}" + (e.IsStale ? $" (stale: {e.StaleReason})" : " (live)"));
                if (entries.Count == 0) ctx.Info(ctx.Parse.GetValue(list) ? "no leases" : "no stale leases");
            }
            return ExitCodes.Ok;
        });
    }
}
