using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

/// <summary>
/// The libc entry points Strata calls. Signatures take raw pointers to NUL-terminated UTF-8 (see
/// <see cref="NativePath"/>) so the marshaller has nothing to convert or allocate; the kernel's
/// types on x86-64: <c>mode_t</c>/<c>uid_t</c>/<c>gid_t</c> 32-bit, <c>dev_t</c>/<c>off_t</c>/<c>ssize_t</c> 64-bit.
/// </summary>
internal static unsafe class LibC
{
    // "libc" is mapped to libc.so.6 by the .NET runtime on Linux.
    private const string Lib = "libc";

    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const int ORdOnly = 0;
    public const int ODirectory = 0x10000; // 0200000
    public const int OCloExec = 0x80000;   // 02000000
    public const int OExcl = 0x80;         // 0200
    public const int SeekDataWhence = 3;
    public const int SeekHoleWhence = 4;

    [DllImport(Lib, SetLastError = true)] public static extern int lstat(byte* path, NativeStat* buf);
    [DllImport(Lib, SetLastError = true)] public static extern int fstat(SafeFileHandle fd, NativeStat* buf);
    [DllImport(Lib, SetLastError = true)] public static extern nint readlink(byte* path, byte* buf, nint size);
    [DllImport(Lib, SetLastError = true)] public static extern nint llistxattr(byte* path, byte* list, nint size);
    [DllImport(Lib, SetLastError = true)] public static extern nint lgetxattr(byte* path, byte* name, byte* value, nint size);
    [DllImport(Lib, SetLastError = true)] public static extern int lsetxattr(byte* path, byte* name, byte* value, nint size, int flags);
    [DllImport(Lib, SetLastError = true)] public static extern int lchown(byte* path, uint owner, uint group);
    [DllImport(Lib, SetLastError = true)] public static extern int chmod(byte* path, uint mode);
    [DllImport(Lib, SetLastError = true)] public static extern int utimensat(int dirfd, byte* path, Timespec* times, int flags);
    [DllImport(Lib, SetLastError = true)] public static extern int mkfifo(byte* path, uint mode);
    [DllImport(Lib, SetLastError = true)] public static extern int mknod(byte* path, uint mode, ulong dev);
    [DllImport(Lib, SetLastError = true)] public static extern int link(byte* oldPath, byte* newPath);
    [DllImport(Lib, SetLastError = true)] public static extern int symlink(byte* target, byte* linkPath);
    [DllImport(Lib, SetLastError = true)] public static extern long lseek(SafeFileHandle fd, long offset, int whence);
    [DllImport(Lib, SetLastError = true)] public static extern int fsync(SafeFileHandle fd);
    [DllImport(Lib, SetLastError = true)] public static extern int fsync(int fd);
    [DllImport(Lib, SetLastError = true)] public static extern nint pread(SafeFileHandle fd, byte* buf, nint count, long offset);
    [DllImport(Lib, SetLastError = true)] public static extern nint pwrite(SafeFileHandle fd, byte* buf, nint count, long offset);
    [DllImport(Lib, SetLastError = true)] public static extern int ftruncate(SafeFileHandle fd, long length);
    // fcntl is variadic; F_GETFL/F_SETFL take an int, passed in a register like a fixed argument.
    [DllImport(Lib, SetLastError = true)] public static extern int fcntl(SafeFileHandle fd, int cmd, int arg);
    // open is variadic; passing mode as a fixed third argument matches the x86-64 calling convention.
    [DllImport(Lib, SetLastError = true)] public static extern int open(byte* path, int flags, uint mode);
    [DllImport(Lib, SetLastError = true)] public static extern int close(int fd);
    [DllImport(Lib)] public static extern uint geteuid();
    [DllImport(Lib)] public static extern uint getegid();
    // These two return the error number instead of setting errno.
    [DllImport(Lib)] public static extern int getpwuid_r(uint uid, NativePasswd* pwd, byte* buf, nint buflen, NativePasswd** result);
    [DllImport(Lib)] public static extern int getgrgid_r(uint gid, NativeGroup* grp, byte* buf, nint buflen, NativeGroup** result);
}

/// <summary><c>struct passwd</c> (48 bytes); only the name, its first field, is read.</summary>
[StructLayout(LayoutKind.Sequential, Size = 48)]
internal unsafe struct NativePasswd
{
#pragma warning disable CS0649 // Filled in by libc.
    public byte* Name;
#pragma warning restore CS0649
}

/// <summary><c>struct group</c> (32 bytes); only the name, its first field, is read.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal unsafe struct NativeGroup
{
#pragma warning disable CS0649 // Filled in by libc.
    public byte* Name;
#pragma warning restore CS0649
}
