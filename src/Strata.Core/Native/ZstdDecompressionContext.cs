using System.Runtime.InteropServices;
using Strata.Errors;

namespace Strata.Native;

/// <summary>
/// Owns one ZSTD_DCtx. A context keeps its work buffers between calls, so reusing one per thread
/// avoids allocating its ~100 KiB of state for every blob. Being a SafeHandle, a context left in a
/// [ThreadStatic] slot is freed by the finalizer after its thread ends.
/// </summary>
internal sealed class ZstdDecompressionContext : SafeHandle
{
    private ZstdDecompressionContext() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static ZstdDecompressionContext Create()
    {
        var context = new ZstdDecompressionContext();
        context.SetHandle(LibZstd.ZSTD_createDCtx());
        if (context.IsInvalid) throw new StrataException("zstd: out of memory creating a decompression context");
        return context;
    }

    protected override bool ReleaseHandle()
    {
        LibZstd.ZSTD_freeDCtx(handle);
        return true;
    }
}
