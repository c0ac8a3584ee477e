using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

public static unsafe partial class Posix
{
    private const int FallocKeepSize = 0x01;
    private const int FallocPunchHole = 0x02;
    private const int SeekEnd = 2;

    /// <summary>
    /// Deallocates a byte range of a regular file (fallocate PUNCH_HOLE|KEEP_SIZE), so it reads as
    /// zeros and takes no space; false when the file system cannot punch holes (the caller writes zeros).
    /// </summary>
    public static bool TryPunchHole(SafeFileHandle handle, long offset, long length)
    {
        if (fallocate(handle, FallocKeepSize | FallocPunchHole, offset, length) == 0) return true;
        int errno = LastErrno;
        if (errno is 95 /* EOPNOTSUPP */ or 38 /* ENOSYS */ or 19 /* ENODEV */) return false;
        throw new PosixException(errno, DescribeHandle(handle));
    }

    /// <summary>Size of what a handle is open on, block devices included (their st_size is 0): lseek to the end.</summary>
    public static long SizeOf(SafeFileHandle handle)
    {
        long size = LSeek(handle, 0, SeekEnd, out int errno);
        if (size < 0) throw new PosixException(errno, DescribeHandle(handle));
        return size;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fallocate(SafeFileHandle fd, int mode, long offset, long length);
}
