using System.CommandLine;
using Strata.Mount;

namespace Strata.Cli.Commands;

internal static class MountCommand
{
    public static Command Create()
    {
        var mountpoint = new Argument<string>("MOUNTPOINT") { Description = "An existing, empty directory to show the repository in" };
        var cacheSize = new Option<string>("--cache-size") { Description = "Memory for decrypted chunks kept for reads, e.g. 512M", DefaultValueFactory = _ => "256M" };
        var allowOther = new Option<bool>("--allow-other") { Description = "Let other users see the mount (always on as root; needs user_allow_other in /etc/fuse.conf otherwise)" };
        var command = new Command("mount", """
            Show every snapshot as a read-only file system (FUSE) until Ctrl-C or SIGTERM:
              snapshots/<id>/         each snapshot's files with their metadata (snapshots/latest: the newest)
              snapshots/<id>/<name>.img  an image snapshot's disk, readable at any offset
              hosts/<host>/<time>     links to the snapshots of each host (and <host>/latest)
              tags/<tag>/<time>       links to the snapshots with each tag (and <tag>/latest)
            Reads fetch only the chunks they need; the list of snapshots is read again every 30 s when browsed.
            """) { mountpoint, cacheSize, allowOther };
        return command.WithAction(async (ctx, ct) =>
        {
            var options = new MountOptions
            {
                BlobCacheBytes = ArgumentParsers.Size(ctx.Parse.GetValue(cacheSize)!, "--cache-size"),
                AllowOther = ctx.Parse.GetValue(allowOther),
            };
            var target = ctx.Parse.GetValue(mountpoint)!;
            Mounter.CheckMountPoint(target);
            using var repo = await ctx.OpenRepositoryAsync(ct);
            await repo.LoadIndexAsync(ct);
            await Mounter.RunAsync(repo, target, options,
                mounted: () => CommandContext.Warn($"repository {repo.Backend.Location} mounted at {target}; Ctrl-C or SIGTERM (or fusermount3 -u) unmounts it"),
                warn: line => CommandContext.Warn("strata mount: " + line),
                ct);
            CommandContext.Warn($"unmounted {target}");
            return Errors.ExitCodes.Ok;
        });
    }
}
