using System.Runtime.InteropServices;

namespace Strata.Native;

/// <summary>
/// Raw entry points of libzstd (zstd.h, zstd_errors.h). Every signature is blittable (pointers and
/// integers only), so a call is a plain native call with no marshalling copies.
/// Call <see cref="NativeLibraries.EnsureZstd"/> before the first use.
/// </summary>
internal static unsafe class LibZstd
{
    /// <summary>ZSTD_CONTENTSIZE_UNKNOWN: the frame header does not state the decompressed size.</summary>
    public const ulong ContentSizeUnknown = ulong.MaxValue;

    /// <summary>ZSTD_CONTENTSIZE_ERROR: not a valid frame header (or too short to hold one).</summary>
    public const ulong ContentSizeError = ulong.MaxValue - 1;

    /// <summary>ZSTD_error_dstSize_tooSmall (zstd_errors.h: values below 100 are stable since v1.3.1).</summary>
    public const int ErrorDestinationTooSmall = 70;

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern nuint ZSTD_compressBound(nuint srcSize);

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern int ZSTD_minCLevel();

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern int ZSTD_maxCLevel();

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern uint ZSTD_isError(nuint code);

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern int ZSTD_getErrorCode(nuint code);

    /// <summary>Returns a pointer to a static NUL-terminated string; never free it.</summary>
    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern byte* ZSTD_getErrorName(nuint code);

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern nint ZSTD_createCCtx();

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern nuint ZSTD_freeCCtx(nint cctx);

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern nuint ZSTD_compressCCtx(nint cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int compressionLevel);

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern nint ZSTD_createDCtx();

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern nuint ZSTD_freeDCtx(nint dctx);

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern nuint ZSTD_decompressDCtx(nint dctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    [DllImport(NativeLibraries.Zstd, ExactSpelling = true)]
    public static extern ulong ZSTD_getFrameContentSize(byte* src, nuint srcSize);
}
