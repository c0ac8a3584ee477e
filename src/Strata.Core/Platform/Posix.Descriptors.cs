using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

/// <summary>
/// Creating a file and setting its metadata through one descriptor: no path lookup in between can
/// be redirected by a symlink, and a restore of tens of thousands of files costs a few syscalls each.
/// </summary>
public static unsafe partial class Posix
{
    private const int OpenWriteOnly = 0x1, OpenCreate = 0x40, OpenExclusive = 0x80, OpenNoFollow = 0x20000, OpenCloseOnExec = 0x80000;

    /// <summary>
    /// Creates a new file for writing: O_CREAT|O_EXCL|O_NOFOLLOW, so it never follows or reuses
    /// anything already at <paramref name="path"/>. A plain open(2), without the advisory lock,
    /// fstat and fadvise calls that .NET's File.OpenHandle adds.
    /// </summary>
    public static SafeFileHandle CreateExclusive(string path, uint permissions)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        int fd;
        fixed (byte* pp = p)
            fd = LibC.open(pp, OpenWriteOnly | OpenCreate | OpenExclusive | OpenNoFollow | OpenCloseOnExec, permissions & 0xFFF);
        if (fd < 0) throw new PosixException(LastErrno, path);
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    public static void FChown(SafeFileHandle handle, uint uid, uint gid, string pathForErrors)
    {
        if (DescriptorCalls.fchown(handle, uid, gid) != 0) throw new PosixException(LastErrno, pathForErrors);
    }

    public static void FChmod(SafeFileHandle handle, uint permissions, string pathForErrors)
    {
        if (DescriptorCalls.fchmod(handle, permissions & 0xFFF) != 0) throw new PosixException(LastErrno, pathForErrors);
    }

    public static void FSetTimes(SafeFileHandle handle, long atimeNs, long mtimeNs, string pathForErrors)
    {
        Timespec* times = stackalloc Timespec[2];
        times[0] = Timespec.FromNs(atimeNs);
        times[1] = Timespec.FromNs(mtimeNs);
        if (DescriptorCalls.futimens(handle, times) != 0) throw new PosixException(LastErrno, pathForErrors);
    }

    public static void FSetXattr(SafeFileHandle handle, string name, ReadOnlySpan<byte> value, string pathForErrors)
    {
        using var n = new NativePath(name, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* np = n, vp = value)
        {
            if (DescriptorCalls.fsetxattr(handle, np, vp, value.Length, 0) != 0)
                throw new PosixException(LastErrno, pathForErrors, $"extended attribute {name}");
        }
    }

    private static class DescriptorCalls
    {
        [DllImport("libc", SetLastError = true)] public static extern int fchown(SafeFileHandle fd, uint owner, uint group);
        [DllImport("libc", SetLastError = true)] public static extern int fchmod(SafeFileHandle fd, uint mode);
        [DllImport("libc", SetLastError = true)] public static extern int futimens(SafeFileHandle fd, Timespec* times);
        [DllImport("libc", SetLastError = true)] public static extern int fsetxattr(SafeFileHandle fd, byte* name, byte* value, nint size, int flags);
    }
}
