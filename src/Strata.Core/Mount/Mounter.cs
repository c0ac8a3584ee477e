using Strata.Errors;
using Strata.Fuse;
using Strata.Platform;

namespace Strata.Mount;

/// <summary>
/// <c>strata mount</c>: checks the mount point, then serves the repository through FUSE until it is
/// unmounted (Ctrl-C, SIGTERM, <c>fusermount3 -u</c> or <c>umount</c>).
/// </summary>
public static class Mounter
{
    /// <summary>Blocks until unmounted. <paramref name="mounted"/> is called once the mount is visible.</summary>
    public static async Task RunAsync(Repository.Repository repo, string mountpoint, MountOptions options, Action mounted, Action<string> warn, CancellationToken ct)
    {
        var directory = CheckMountPoint(mountpoint);
        // libfuse's threads and the read-ahead block on repository reads whose completions run on the
        // thread pool; with the default minimum (one thread per core) those completions queue behind
        // blocked threads and the pool adds threads only slowly, so reads stall.
        ThreadPoolHeadroom.Ensure(64);
        var snapshots = await repo.ListSnapshotsAsync(ct).ConfigureAwait(false);
        var fileSystem = new RepositoryFileSystem(repo, snapshots, options, warn);
        var fuseOptions = new List<string> { "ro", "default_permissions", "fsname=strata", "subtype=strata", "kernel_cache" };
        // For investigating the kernel's requests: libfuse prints each one on stderr.
        if (Environment.GetEnvironmentVariable("STRATA_FUSE_DEBUG") == "1") fuseOptions.Add("debug");
        if (options.AllowOther || Posix.EffectiveUid == 0) fuseOptions.Add("allow_other");
        // libfuse's loop blocks its thread; give it one of its own so the caller's thread pool stays free.
        Exception? failure = null;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try { FuseHost.Run(fileSystem, directory, fuseOptions, mounted, ct); }
            catch (Exception e) { failure = e; }
            finally { done.SetResult(); }
        }) { Name = "fuse loop", IsBackground = true };
        thread.Start();
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (ct.Register(() => stopRequested.TrySetResult()))
            await Task.WhenAny(done.Task, stopRequested.Task).ConfigureAwait(false);
        // A mount detached while a file in it is open keeps its connection, and libfuse's workers wait on
        // it; ending the process closes the connection (readers of such files then get ENOTCONN). A
        // stopping service must not wait for a user to close a file.
        if (!done.Task.IsCompleted) await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>The absolute mount point, or a clear error: missing, not a directory, already mounted, or no FUSE here.</summary>
    public static string CheckMountPoint(string mountpoint)
    {
        var directory = Path.GetFullPath(mountpoint).TrimEnd('/');
        if (directory.Length == 0) directory = "/";
        if (!Posix.TryLStat(directory, out var st))
            throw new UsageException($"mount point {mountpoint} does not exist: create the directory first");
        if (st.Kind != FileKind.Directory)
            throw new UsageException($"mount point {mountpoint} is not a directory");
        if (MountTable.IsMountPoint(directory))
            throw new UsageException($"mount point {mountpoint} is busy: something is already mounted there (unmount it or choose another directory)");
        if (!File.Exists("/dev/fuse") && !Posix.TryLStat("/dev/fuse", out _))
            throw new StrataException("FUSE is not available here: /dev/fuse is missing (the kernel lacks FUSE, or the container does not pass the device through)");
        return directory;
    }
}
