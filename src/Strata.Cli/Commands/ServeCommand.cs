using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Images;
using Strata.Nbd;

namespace Strata.Cli.Commands;

/// <summary>'strata serve nbd': an image recovery point as an NBD export, for VMs and qemu tools.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Serve recovery points to other programs");
        command.Subcommands.Add(CreateNbd());
        return command;
    }

    private static Command CreateNbd()
    {
        var snapshot = new Argument<string>("SNAPSHOT") { Description = "Image snapshot id (prefix) or 'latest' (with --name: that disk's latest)" };
        var listen = new Option<string>("--listen") { Description = "HOST:PORT or unix:PATH to listen on", DefaultValueFactory = _ => NbdListenAddress.Default };
        var writable = new Option<bool>("--writable") { Description = "Accept writes, into a local copy-on-write overlay file (the repository is never modified)" };
        var overlay = new Option<string?>("--overlay") { Description = "With --writable: the overlay file to create and keep (default: a temporary file, deleted at exit)" };
        var cache = new Option<string>("--cache-size") { Description = "Memory for recently read blocks", DefaultValueFactory = _ => "64M" };
        var name = new Option<string?>("--name") { Description = "Disk name, to resolve 'latest'" };
        var command = new Command("nbd", "Serve an image snapshot over NBD until Ctrl-C/SIGTERM (fixed newstyle, structured replies, base:allocation); " +
            "the default export answers to the empty name: nbd://127.0.0.1:10809") { snapshot, listen, writable, overlay, cache, name };
        return command.WithAction(async (ctx, ct) =>
        {
            var overlayPath = ctx.Parse.GetValue(overlay);
            bool isWritable = ctx.Parse.GetValue(writable);
            if (overlayPath is not null && !isWritable) throw new UsageException("--overlay needs --writable");
            var endPoint = NbdListenAddress.Parse(ctx.Parse.GetValue(listen)!);
            long cacheBytes;
            try { cacheBytes = ImageCommand.ParseBlockSize(ctx.Parse.GetValue(cache)!); }
            catch (UsageException) { throw new UsageException($"--cache-size '{ctx.Parse.GetValue(cache)}' is not a size (e.g. 64M, 512M)"); }
            using var repo = await ctx.OpenRepositoryAsync(ct);
            var snap = await ImageSnapshots.FindAsync(repo, ctx.Parse.GetValue(snapshot)!, ctx.Parse.GetValue(name), ct);
            bool keep = overlayPath is not null;
            if (isWritable && overlayPath is null)
                overlayPath = Path.Combine(Path.GetTempPath(), $"strata-overlay-{snap.Id.ToShortString()}-{Guid.NewGuid():N}.raw");
            using var export = await SnapshotExports.OpenAsync(repo, snap, isWritable ? Path.GetFullPath(overlayPath!) : null, keep, cacheBytes, ct);
            await using var server = NbdServer.Listen(export, endPoint);
            server.Log = CommandContext.Warn;
            server.Start();
            var url = NbdListenAddress.UrlOf(server.EndPoint);
            if (ctx.Json)
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "listening",
                    ["snapshot_id"] = snap.Id.ToString(),
                    ["url"] = url,
                    ["export_name"] = export.Name,
                    ["size"] = export.Size,
                    ["writable"] = export.IsWritable,
                    ["overlay"] = export.Overlay?.Path,
                });
            else
                ctx.Info($"serving image snapshot {SnapshotView.Describe(snap)} ({Terminal.Bytes(export.Size)}, " +
                    (export.IsWritable ? $"writable, overlay {export.Overlay!.Path}" : "read-only") + $") at {url}; Ctrl-C to stop");
            Console.Out.Flush();
            await server.RunUntilCancelledAsync(ct);
            var summary = $"stopped after {server.Connections} connection(s); fetched {Terminal.Bytes(export.Reader.Cache.FetchedBytes)} from the repository" +
                (export.IsWritable ? $"; the overlay holds {export.Overlay!.ChangedBlocks} written block(s)" + (keep ? $" in {export.Overlay.Path}" : "") : "");
            if (ctx.Json)
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary",
                    ["connections"] = server.Connections,
                    ["bytes_fetched"] = export.Reader.Cache.FetchedBytes,
                    ["overlay_blocks"] = export.Overlay?.ChangedBlocks ?? 0,
                });
            else ctx.Info(summary);
            return ExitCodes.Ok;
        });
    }
}
