using System.Runtime.InteropServices;
using Strata.Errors;

namespace Strata.Native;

/// <summary>
/// Owns one ZSTD_CCtx. A context keeps its work buffers between calls, so reusing one per thread
/// avoids allocating several MiB of tables for every blob. Being a SafeHandle, a context left in a
/// [ThreadStatic] slot is freed by the finalizer after its thread ends.
/// </summary>
internal sealed class ZstdCompressionContext : SafeHandle
{
    private ZstdCompressionContext() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static ZstdCompressionContext Create()
    {
        var context = new ZstdCompressionContext();
        context.SetHandle(LibZstd.ZSTD_createCCtx());
        if (context.IsInvalid) throw new StrataException("zstd: out of memory creating a compression context");
        return context;
    }

    protected override bool ReleaseHandle()
    {
        LibZstd.ZSTD_freeCCtx(handle);
        return true;
    }
}
