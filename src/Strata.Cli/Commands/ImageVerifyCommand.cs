using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Images;

namespace Strata.Cli.Commands;

internal static class ImageVerifyCommand
{
    public static Command Create()
    {
        var snapshot = new Argument<string>("SNAPSHOT") { Description = "Image snapshot id (prefix) or 'latest'" };
        var target = new Option<string?>("--target", "-t") { Description = "Compare this disk (file, device, qcow2, nbd://) with the snapshot instead of reading the snapshot's data" };
        var name = new Option<string?>("--name") { Description = "Disk name, to resolve 'latest'" };
        var command = new Command("verify", "Check that an image snapshot's blocks can be read back, or that a disk equals the snapshot") { snapshot, target, name };
        return command.WithAction(async (ctx, ct) =>
        {
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.LoadIndexAsync(ct);
            var snap = await ImageSnapshots.FindAsync(repo, ctx.Parse.GetValue(snapshot)!, ctx.Parse.GetValue(name), ct);
            var map = await ImageSnapshots.LoadMapAsync(repo, snap, ct);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            if (ctx.Parse.GetValue(target) is { } disk)
            {
                var location = ImageLocation.Parse(disk);
                BlockSet differs;
                long read = 0;
                await using (var device = await location.OpenAsync(writable: false, [], ct))
                {
                    if (device.Size != map.ImageSize) CommandContext.Warn($"note: {disk} holds {device.Size} bytes, the image {map.ImageSize}");
                    differs = await DiskComparer.DifferingBlocksAsync(repo.Key, device, map, n => Interlocked.Add(ref read, n), ct);
                }
                var extents = differs.ToExtents(map.BlockSize, map.ImageSize);
                long bytes = extents.Sum(e => e.Length);
                if (ctx.Json)
                    JsonOutput.Line(new JsonObject
                    {
                        ["message_type"] = "summary", ["snapshot_id"] = snap.Id.ToString(), ["target"] = disk, ["identical"] = bytes == 0,
                        ["bytes_differing"] = bytes, ["extents_differing"] = extents.Count, ["target_bytes_read"] = read,
                        ["total_duration"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
                    });
                else if (bytes == 0)
                    ctx.Info($"{disk} equals snapshot {snap.Id.ToShortString()} ({Terminal.Bytes(map.ImageSize)}; read {Terminal.Bytes(read)} in {Terminal.Duration(clock.Elapsed)})");
                else
                {
                    foreach (var e in extents.Take(20)) CommandContext.Warn($"differs: {e.Offset}+{e.Length}");
                    CommandContext.Warn($"{disk} differs from snapshot {snap.Id.ToShortString()} in {extents.Count} extent(s), {Terminal.Bytes(bytes)}");
                }
                return bytes == 0 ? ExitCodes.Ok : ExitCodes.Fatal;
            }

            var result = await ImageVerifier.VerifyStoredAsync(repo, map, ct);
            if (ctx.Json)
                JsonOutput.Line(new JsonObject
                {
                    ["message_type"] = "summary", ["snapshot_id"] = snap.Id.ToString(), ["blocks_verified"] = result.BlocksVerified,
                    ["bytes_fetched"] = result.BytesFetched, ["damaged_blocks"] = result.Damaged.Count,
                    ["total_duration"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
                });
            foreach (var d in result.Damaged.Take(20)) CommandContext.Warn($"error: {d}");
            if (!ctx.Json)
                ctx.Info(result.Damaged.Count == 0
                    ? $"snapshot {snap.Id.ToShortString()}: all {result.BlocksVerified} distinct data blocks read back and match their ids ({Terminal.Duration(clock.Elapsed)})"
                    : $"snapshot {snap.Id.ToShortString()}: {result.Damaged.Count} block(s) cannot be read back");
            return result.Damaged.Count == 0 ? ExitCodes.Ok : ExitCodes.Fatal;
        });
    }
}
