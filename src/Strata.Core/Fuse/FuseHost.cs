using System.Runtime.InteropServices;
using System.Text;
using Strata.Errors;
using Strata.Native;
using Strata.Platform;

namespace Strata.Fuse;

/// <summary>
/// Mounts a <see cref="FuseFileSystem"/> with libfuse 3 and serves it on libfuse's worker threads
/// until it is unmounted: from outside (<c>fusermount3 -u</c>, <c>umount</c>) or by cancelling the
/// token (Ctrl-C, SIGTERM), which unmounts it. The callbacks are static, as unmanaged entry points
/// must be; they find the file system through the private data libfuse keeps for the mount.
/// </summary>
internal static unsafe class FuseHost
{
    /// <summary>Blocks until the file system is unmounted. <paramref name="mounted"/> runs once the mount is visible.</summary>
    public static void Run(FuseFileSystem fileSystem, string mountpoint, IReadOnlyList<string> options, Action mounted, CancellationToken ct)
    {
        NativeLibraries.Require(LibFuse3.Lib, "libfuse3-3 (with fuse3 for fusermount3)");
        var handle = GCHandle.Alloc(fileSystem);
        var operations = (nint*)NativeMemory.AllocZeroed(LibFuse3.OperationCount, (nuint)sizeof(nint));
        var argv = new List<nint>();
        try
        {
            FillOperations(operations);
            argv.Add(Marshal.StringToCoTaskMemUTF8("strata"));
            foreach (var option in options)
            {
                argv.Add(Marshal.StringToCoTaskMemUTF8("-o"));
                argv.Add(Marshal.StringToCoTaskMemUTF8(option));
            }
            var argPointers = (byte**)NativeMemory.Alloc((nuint)(argv.Count + 1), (nuint)sizeof(nint));
            try
            {
                for (int i = 0; i < argv.Count; i++) argPointers[i] = (byte*)argv[i];
                argPointers[argv.Count] = null;
                var args = new FuseArgs { Count = argv.Count, Values = argPointers, Allocated = 0 };
                nint fuse = LibFuse3.fuse_new(&args, operations, (nuint)(LibFuse3.OperationCount * sizeof(nint)), (void*)GCHandle.ToIntPtr(handle));
                if (fuse == 0) throw new StrataException($"libfuse refused the mount options {string.Join(',', options)}");
                try
                {
                    Serve(fuse, mountpoint, mounted, ct);
                }
                finally
                {
                    LibFuse3.fuse_destroy(fuse);
                }
            }
            finally
            {
                NativeMemory.Free(argPointers);
            }
        }
        finally
        {
            foreach (var p in argv) Marshal.FreeCoTaskMem(p);
            NativeMemory.Free(operations);
            handle.Free();
        }
    }

    private static void Serve(nint fuse, string mountpoint, Action mounted, CancellationToken ct)
    {
        var path = Encoding.UTF8.GetBytes(mountpoint + "\0");
        fixed (byte* p = path)
        {
            if (LibFuse3.fuse_mount(fuse, p) != 0)
                throw new StrataException($"cannot mount on {mountpoint}: libfuse refused (its reason is printed above; is /dev/fuse usable and the directory not busy?)");
        }
        try
        {
            // Unmounting ends the connection; every worker's read of /dev/fuse then fails and the loop returns.
            using var stop = ct.Register(() =>
            {
                LibFuse3.fuse_exit(fuse);
                MountTable.Unmount(mountpoint);
            });
            mounted();
            var config = new FuseLoopConfig { CloneFd = 0, MaxIdleThreads = 10 };
            int rc = LibFuse3.fuse_loop_mt(fuse, &config);
            if (rc != 0 && !ct.IsCancellationRequested)
                throw new StrataException($"the FUSE session on {mountpoint} ended with an error ({rc})");
        }
        finally
        {
            // A no-op when the mount is already gone (libfuse sees the dead connection and skips it).
            LibFuse3.fuse_unmount(fuse);
        }
    }

    private static void FillOperations(nint* ops)
    {
        ops[LibFuse3.GetAttr] = (nint)(delegate* unmanaged<byte*, NativeStat*, FuseFileInfo*, int>)&OnGetAttr;
        ops[LibFuse3.ReadLink] = (nint)(delegate* unmanaged<byte*, byte*, nuint, int>)&OnReadLink;
        ops[LibFuse3.Open] = (nint)(delegate* unmanaged<byte*, FuseFileInfo*, int>)&OnOpen;
        ops[LibFuse3.Read] = (nint)(delegate* unmanaged<byte*, byte*, nuint, long, FuseFileInfo*, int>)&OnRead;
        ops[LibFuse3.Release] = (nint)(delegate* unmanaged<byte*, FuseFileInfo*, int>)&OnRelease;
        ops[LibFuse3.GetXattr] = (nint)(delegate* unmanaged<byte*, byte*, byte*, nuint, int>)&OnGetXattr;
        ops[LibFuse3.ListXattr] = (nint)(delegate* unmanaged<byte*, byte*, nuint, int>)&OnListXattr;
        ops[LibFuse3.Init] = (nint)(delegate* unmanaged<void*, byte*, void*>)&OnInit;
        ops[LibFuse3.ReadDir] = (nint)(delegate* unmanaged<byte*, void*, nint, long, FuseFileInfo*, int, int>)&OnReadDir;
    }

    private static FuseFileSystem Current => (FuseFileSystem)GCHandle.FromIntPtr((nint)LibFuse3.fuse_get_context()->PrivateData).Target!;

    private static string Text(byte* p) => Marshal.PtrToStringUTF8((nint)p) ?? "";

    private static int Fail(string operation, byte* path, Exception e)
    {
        try { Current.ReportFailure(operation, path is null ? "" : Text(path), e); }
        catch { /* reporting must never take the callback down */ }
        return -Errno.EIO;
    }

    /// <summary>Asks libfuse to report our inode numbers (hard links share one); returns the private data unchanged.</summary>
    [UnmanagedCallersOnly]
    private static void* OnInit(void* connection, byte* config)
    {
        *(int*)(config + LibFuse3.ConfigUseInoOffset) = 1;
        return LibFuse3.fuse_get_context()->PrivateData;
    }

    [UnmanagedCallersOnly]
    private static int OnGetAttr(byte* path, NativeStat* stat, FuseFileInfo* fi)
    {
        try
        {
            *stat = default;
            return Current.GetAttr(Text(path), ref *stat);
        }
        catch (Exception e) { return Fail("getattr", path, e); }
    }

    [UnmanagedCallersOnly]
    private static int OnReadLink(byte* path, byte* buffer, nuint size)
    {
        try { return Current.ReadLink(Text(path), new Span<byte>(buffer, (int)Math.Min(size, int.MaxValue))); }
        catch (Exception e) { return Fail("readlink", path, e); }
    }

    [UnmanagedCallersOnly]
    private static int OnOpen(byte* path, FuseFileInfo* fi)
    {
        try
        {
            int rc = Current.Open(Text(path), fi->Flags, out var handle);
            if (rc == 0) fi->Handle = handle;
            return rc;
        }
        catch (Exception e) { return Fail("open", path, e); }
    }

    [UnmanagedCallersOnly]
    private static int OnRead(byte* path, byte* buffer, nuint size, long offset, FuseFileInfo* fi)
    {
        try { return Current.Read(fi->Handle, new Span<byte>(buffer, (int)Math.Min(size, int.MaxValue)), offset); }
        catch (Exception e) { return Fail("read", path, e); }
    }

    [UnmanagedCallersOnly]
    private static int OnRelease(byte* path, FuseFileInfo* fi)
    {
        try
        {
            Current.Release(fi->Handle);
            return 0;
        }
        catch (Exception e) { return Fail("release", path, e); }
    }

    [UnmanagedCallersOnly]
    private static int OnGetXattr(byte* path, byte* name, byte* value, nuint size)
    {
        try { return Current.GetXattr(Text(path), Text(name), new Span<byte>(value, (int)Math.Min(size, int.MaxValue))); }
        catch (Exception e) { return Fail("getxattr", path, e); }
    }

    [UnmanagedCallersOnly]
    private static int OnListXattr(byte* path, byte* list, nuint size)
    {
        try { return Current.ListXattr(Text(path), new Span<byte>(list, (int)Math.Min(size, int.MaxValue))); }
        catch (Exception e) { return Fail("listxattr", path, e); }
    }

    [UnmanagedCallersOnly]
    private static int OnReadDir(byte* path, void* buffer, nint filler, long offset, FuseFileInfo* fi, int flags)
    {
        try { return Current.ReadDirectory(Text(path), new DirectoryFiller(buffer, filler)); }
        catch (Exception e) { return Fail("readdir", path, e); }
    }
}
