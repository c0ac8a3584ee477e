using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

public static unsafe partial class Posix
{
    /// <summary>
    /// The start of the next data region at or after <paramref name="offset"/> (lseek SEEK_DATA),
    /// or -1 when only a hole follows up to the end of the file (ENXIO).
    /// Moves the descriptor's file offset, which positional reads (<see cref="RandomAccess"/>) ignore.
    /// </summary>
    public static long SeekData(SafeFileHandle handle, long offset)
    {
        long result = LSeek(handle, offset, LibC.SeekDataWhence, out int errno);
        if (result >= 0)
            return result;
        if (errno == Errno.ENXIO)
            return -1;
        throw new PosixException(errno, DescribeHandle(handle));
    }

    /// <summary>
    /// The start of the next hole at or after <paramref name="offset"/> (lseek SEEK_HOLE); the end of
    /// the file counts as a hole. Throws ENXIO when <paramref name="offset"/> is at or past the end.
    /// </summary>
    public static long SeekHole(SafeFileHandle handle, long offset)
    {
        long result = LSeek(handle, offset, LibC.SeekHoleWhence, out int errno);
        if (result >= 0)
            return result;
        throw new PosixException(errno, DescribeHandle(handle));
    }

    public static void Fsync(SafeFileHandle handle)
    {
        while (LibC.fsync(handle) != 0)
        {
            int errno = LastErrno;
            if (errno != Errno.EINTR)
                throw new PosixException(errno, DescribeHandle(handle));
        }
    }

    /// <summary>
    /// Makes the directory's entries durable: after a file is created or renamed in it, the file is only
    /// certain to survive a crash once its directory has been fsynced too.
    /// </summary>
    public static void FsyncDirectory(string dir)
    {
        using var p = new NativePath(dir, stackalloc byte[NativePath.StackBytes]);
        int fd;
        fixed (byte* pp = p)
        {
            while ((fd = LibC.open(pp, LibC.ORdOnly | LibC.ODirectory | LibC.OCloExec, 0)) < 0)
            {
                int errno = LastErrno;
                if (errno != Errno.EINTR)
                    throw new PosixException(errno, dir);
            }
        }
        try
        {
            while (LibC.fsync(fd) != 0)
            {
                int errno = LastErrno;
                if (errno != Errno.EINTR)
                    throw new PosixException(errno, dir);
            }
        }
        finally
        {
            // Not retried on EINTR: on Linux the descriptor is gone either way.
            LibC.close(fd);
        }
    }

    /// <summary>
    /// Claims a block device for this process alone (open with O_EXCL, as mkfs does): null when
    /// the kernel refuses because it is mounted or claimed by someone else (EBUSY: LVM, md, another
    /// O_EXCL opener), so nothing mounts it while the claim is held.
    /// </summary>
    public static SafeFileHandle? TryClaimBlockDevice(string path)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p)
        {
            while (true)
            {
                int fd = LibC.open(pp, LibC.ORdOnly | LibC.OExcl | LibC.OCloExec, 0);
                if (fd >= 0) return new SafeFileHandle(fd, ownsHandle: true);
                int errno = LastErrno;
                if (errno == Errno.EBUSY) return null;
                if (errno != Errno.EINTR) throw new PosixException(errno, path);
            }
        }
    }

    /// <summary>lseek without throwing, for callers that branch on the errno.</summary>
    internal static long LSeek(SafeFileHandle handle, long offset, int whence, out int errno)
    {
        long result = LibC.lseek(handle, offset, whence);
        errno = result < 0 ? LastErrno : 0;
        return result;
    }

    /// <summary>A handle's path for error messages, from /proc (the handle does not remember its path).</summary>
    internal static string DescribeHandle(SafeFileHandle handle)
    {
        string fd = handle.IsClosed ? "closed" : handle.DangerousGetHandle().ToString();
        try
        {
            return ReadLink($"/proc/self/fd/{fd}");
        }
        catch (PosixException)
        {
            return $"file descriptor {fd}";
        }
    }
}
