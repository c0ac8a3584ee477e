using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

public static unsafe partial class Posix
{
    private const int OpenWriteOnly = 0x1, OpenCreate = 0x40, OpenExclusive = 0x80, OpenNoFollow = 0x20000, OpenCloseOnExec = 0x80000;

    /// <summary>
    /// Creates a new file for writing: O_CREAT|O_EXCL|O_NOFOLLOW, so it never follows or reuses
    /// anything already at <paramref name="path"/>. A plain open(2), without the advisory lock,
    /// fstat and fadvise calls .NET's File.OpenHandle adds: a restore creates tens of thousands of files.
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
}
