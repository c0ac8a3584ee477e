using System.Runtime.InteropServices;

namespace Strata.Platform;

public static unsafe partial class Posix
{
    /// <summary>
    /// Creates a new directory with mkdir(2), which fails (EEXIST) if anything, even a dangling
    /// symlink, is already at <paramref name="path"/>: unlike Directory.CreateDirectory it never
    /// reuses or follows what is there. Mode 0700 until the caller sets the real one.
    /// </summary>
    public static void MkDirNew(string path)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p)
        {
            if (DirectoryCalls.mkdir(pp, 0x1C0) != 0) throw new PosixException(LastErrno, path);
        }
    }

    private static class DirectoryCalls
    {
        [DllImport("libc", SetLastError = true)] public static extern int mkdir(byte* path, uint mode);
    }
}
