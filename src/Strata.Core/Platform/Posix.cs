using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

/// <summary>
/// POSIX file metadata through libc, for what .NET does not expose: full <c>stat</c>, ownership,
/// nanosecond times on symlinks, special files, hard links, extended attributes and sparse files.
/// Every call that names a path acts on the path itself, never on a symlink's target, except
/// <see cref="Chmod"/>. Failures throw <see cref="PosixException"/>.
/// </summary>
public static unsafe partial class Posix
{
    public static FileStatus LStat(string path)
    {
        if (!TryLStat(path, out FileStatus status, out int errno))
            throw new PosixException(errno, path);
        return status;
    }

    /// <summary>False when <paramref name="path"/> does not exist (ENOENT, ENOTDIR); throws on any other error.</summary>
    public static bool TryLStat(string path, out FileStatus status)
    {
        if (TryLStat(path, out status, out int errno))
            return true;
        if (errno is Errno.ENOENT or Errno.ENOTDIR)
            return false;
        throw new PosixException(errno, path);
    }

    public static FileStatus FStat(SafeFileHandle handle)
    {
        NativeStat native;
        if (LibC.fstat(handle, &native) != 0)
            throw new PosixException(LastErrno, DescribeHandle(handle));
        return FileStatus.From(native);
    }

    /// <summary>The symlink's target. Targets are bytes; ones that are not UTF-8 come back with U+FFFD in them.</summary>
    public static string ReadLink(string path)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        Span<byte> target = stackalloc byte[256];
        byte[]? rented = null;
        try
        {
            while (true)
            {
                nint length;
                fixed (byte* pp = p, tp = target)
                    length = LibC.readlink(pp, tp, target.Length);
                if (length < 0)
                    throw new PosixException(LastErrno, path);
                // readlink truncates silently; a full buffer may mean a longer target.
                if (length < target.Length)
                    return Encoding.UTF8.GetString(target[..(int)length]);

                int larger = target.Length * 4;
                if (rented is not null)
                    ArrayPool<byte>.Shared.Return(rented);
                target = rented = ArrayPool<byte>.Shared.Rent(larger);
            }
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static void LChown(string path, uint uid, uint gid)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p)
            Check(LibC.lchown(pp, uid, gid), path);
    }

    /// <summary>Sets the permission bits (07777). Follows symlinks: Linux has no permissions on symlinks to set.</summary>
    public static void Chmod(string path, uint permissions)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p)
            Check(LibC.chmod(pp, permissions & 0xFFF), path);
    }

    /// <summary>Sets access and modification times to the nanosecond, on the path itself even when it is a symlink.</summary>
    public static void SetTimes(string path, long atimeNs, long mtimeNs)
    {
        Timespec* times = stackalloc Timespec[2];
        times[0] = Timespec.FromNs(atimeNs);
        times[1] = Timespec.FromNs(mtimeNs);
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p)
            Check(LibC.utimensat(LibC.AtFdCwd, pp, times, LibC.AtSymlinkNoFollow), path);
    }

    /// <summary>Creates a FIFO. The process umask applies, as for any created file; restore with <see cref="Chmod"/>.</summary>
    public static void MkFifo(string path, uint permissions)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p)
            Check(LibC.mkfifo(pp, permissions & 0xFFF), path);
    }

    /// <summary>Creates a device, FIFO or socket node; <paramref name="mode"/> carries the file type bits. The umask applies.</summary>
    public static void MkNod(string path, uint mode, ulong rdev)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p)
            Check(LibC.mknod(pp, mode, rdev), path);
    }

    /// <summary>Creates the hard link <paramref name="newPath"/>; errors name <paramref name="newPath"/>.</summary>
    public static void Link(string existingPath, string newPath)
    {
        using var existing = new NativePath(existingPath, stackalloc byte[NativePath.StackBytes]);
        using var created = new NativePath(newPath, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* ep = existing, np = created)
        {
            if (LibC.link(ep, np) != 0)
                throw new PosixException(LastErrno, newPath, $"hard link to {existingPath}");
        }
    }

    /// <summary>Creates the symlink <paramref name="linkPath"/> pointing at <paramref name="target"/> (which need not exist).</summary>
    public static void Symlink(string target, string linkPath)
    {
        using var t = new NativePath(target, stackalloc byte[NativePath.StackBytes]);
        using var l = new NativePath(linkPath, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* tp = t, lp = l)
        {
            if (LibC.symlink(tp, lp) != 0)
                throw new PosixException(LastErrno, linkPath, $"symlink to {target}");
        }
    }

    public static uint EffectiveUid => LibC.geteuid();

    public static uint EffectiveGid => LibC.getegid();

    /// <summary>glibc's <c>makedev</c>: the <c>dev_t</c> for a major and minor device number.</summary>
    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8)
        | ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF);

    public static uint Major(ulong dev) => (uint)(((dev >> 32) & 0xFFFFF000) | ((dev >> 8) & 0xFFF));

    public static uint Minor(ulong dev) => (uint)(((dev >> 12) & 0xFFFFFF00) | (dev & 0xFF));

    private static int LastErrno => Marshal.GetLastPInvokeError();

    private static bool TryLStat(string path, out FileStatus status, out int errno)
    {
        NativeStat native;
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p)
        {
            if (LibC.lstat(pp, &native) != 0)
            {
                errno = LastErrno;
                status = default;
                return false;
            }
        }
        errno = 0;
        status = FileStatus.From(native);
        return true;
    }

    private static void Check(int result, string path)
    {
        if (result != 0)
            throw new PosixException(LastErrno, path);
    }
}
