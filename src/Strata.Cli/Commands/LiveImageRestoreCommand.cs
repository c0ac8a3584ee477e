using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Images;
using Strata.Nbd;
using Strata.Snapshots;

namespace Strata.Cli.Commands;

/// <summary>'strata image restore --live --serve-nbd ADDR': serve the target while it is restored, keep serving after.</summary>
internal static class LiveImageRestoreCommand
{
    private const int CopyConcurrency = 4;

    public static async Task<int> RunAsync(CommandContext ctx, Repository.Repository repo, Snapshot snap, string target, string listen, CancellationToken ct)
    {
        var endPoint = NbdListenAddress.Parse(listen);
        var targetPath = Path.GetFullPath(target);
        using var export = await SnapshotExports.OpenLiveRestoreAsync(repo, snap, targetPath, BlockCache.DefaultCapacity, ct);
        await using var server = NbdServer.Listen(export, endPoint);
        server.Log = CommandContext.Warn;
        server.Start();
        var url = NbdListenAddress.UrlOf(server.EndPoint);
        if (ctx.Json)
            JsonOutput.Line(new JsonObject { ["message_type"] = "listening", ["snapshot_id"] = snap.Id.ToString(), ["url"] = url, ["target"] = targetPath, ["size"] = export.Size });
        else
            ctx.Info($"restoring image snapshot {SnapshotView.Describe(snap)} to {targetPath}, served at {url} from now on; Ctrl-C to stop");
        Console.Out.Flush();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool complete = false;
        try
        {
            using (new ProgressLine(ctx.ShowProgress, () => $"[{Terminal.Duration(clock.Elapsed)}] {Terminal.Bytes(export.BytesDone)} / {Terminal.Bytes(export.Size)} in place"))
                await export.CopyAsync(CopyConcurrency, ct);
            export.Flush();
            complete = true;
            var done = $"restore complete in {Terminal.Duration(clock.Elapsed)}: {targetPath} is the recovery point plus {export.WrittenBlocks} block(s) clients wrote; " +
                $"fetched {Terminal.Bytes(export.Reader.Cache.FetchedBytes)}; still serving {url}, Ctrl-C to stop";
            if (ctx.Json)
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "restored",
                    ["bytes_total"] = export.Size,
                    ["bytes_fetched"] = export.Reader.Cache.FetchedBytes,
                    ["blocks_written_by_clients"] = export.WrittenBlocks,
                    ["total_duration"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
                });
            else ctx.Info(done);
            Console.Out.Flush();
            await server.RunUntilCancelledAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Off the thread of the signal handler's Cancel() call, which may have run this inline.
            await Task.Yield();
        }
        await server.DisposeAsync();
        export.Flush();
        if (!complete)
        {
            CommandContext.Warn($"strata: stopped before the restore completed: {targetPath} holds {Terminal.Bytes(export.BytesDone)} of {Terminal.Bytes(export.Size)} " +
                "(and the clients' writes) and is not a complete disk");
            return ExitCodes.Interrupted;
        }
        ctx.Info($"stopped after {server.Connections} connection(s)");
        return ExitCodes.Ok;
    }
}
