using System.Runtime.InteropServices;

namespace Strata.Fuse;

/// <summary>
/// The few entry points of libfuse 3 (Debian package libfuse3-3, 3.14 on bookworm) that Strata uses:
/// the high-level, path-based API with its multi-threaded loop. Versioned symbols are named
/// explicitly, so the layout of what is passed matches what the library expects whatever its
/// default version is.
/// </summary>
internal static unsafe class LibFuse3
{
    public const string Lib = "libfuse3.so.3";

    /// <summary>Slots of <c>struct fuse_operations</c> in libfuse 3.14 (42 function pointers).</summary>
    public const int OperationCount = 42;

    public const int GetAttr = 0, ReadLink = 1, Open = 12, Read = 13, StatFs = 15, Release = 17,
        GetXattr = 20, ListXattr = 21, OpenDir = 23, ReadDir = 24, ReleaseDir = 25, Init = 27, Access = 29;

    /// <summary>Offset of <c>use_ino</c> in <c>struct fuse_config</c> (unchanged since 3.0); libfuse 3 takes it only from init, not as an option.</summary>
    public const int ConfigUseInoOffset = 64;

    [DllImport(Lib, EntryPoint = "fuse_new_31")]
    public static extern nint fuse_new(FuseArgs* args, nint* operations, nuint operationsSize, void* privateData);

    [DllImport(Lib)] public static extern int fuse_mount(nint fuse, byte* mountpoint);

    /// <summary>The FUSE_3.2 loop: a plain two-field config, unlike 3.12's opaque one.</summary>
    [DllImport(Lib, EntryPoint = "fuse_loop_mt_31")]
    public static extern int fuse_loop_mt(nint fuse, FuseLoopConfig* config);

    [DllImport(Lib)] public static extern void fuse_exit(nint fuse);
    [DllImport(Lib)] public static extern void fuse_unmount(nint fuse);
    [DllImport(Lib)] public static extern void fuse_destroy(nint fuse);
    [DllImport(Lib)] public static extern FuseContext* fuse_get_context();
}

/// <summary><c>struct fuse_args</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseArgs
{
    public int Count;
    public byte** Values;
    public int Allocated;
}

/// <summary><c>struct fuse_loop_config</c> of FUSE_3.2.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseLoopConfig
{
    public int CloneFd;
    public uint MaxIdleThreads;
}

/// <summary><c>struct fuse_context</c>: the calling process, and the private data given to fuse_new.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseContext
{
    public nint Fuse;
    public uint Uid;
    public uint Gid;
    public int Pid;
    public void* PrivateData;
    public uint Umask;
}

/// <summary>The start of <c>struct fuse_file_info</c>: flags, bit fields, then the file handle at offset 16.</summary>
[StructLayout(LayoutKind.Explicit)]
internal struct FuseFileInfo
{
    [FieldOffset(0)] public int Flags;
    [FieldOffset(4)] public uint Bits;
    [FieldOffset(16)] public ulong Handle;
}
