using System.Runtime.InteropServices;
using Strata.Errors;
using Strata.Native;

namespace Strata.Compression;

/// <summary>
/// zstd compression of whole buffers (one frame per call), bound to the system libzstd.
/// Frames are standard zstd frames that state their decompressed size, so the zstd command
/// line tool can read them too. Each thread reuses its own native context: creating one per
/// blob would cost more than compressing a small blob.
/// </summary>
public static unsafe class Zstd
{
    /// <summary>The level zstd itself uses by default: a good speed/ratio balance for backups.</summary>
    public const int DefaultLevel = 3;

    // Contexts are lent to one caller at a time from small shared pools rather than kept per thread:
    // a compression context holds megabytes of native memory, and a backup touches many pool
    // threads but compresses on only a few at once. The borrower keeps the SafeHandle reachable
    // while native code uses its raw handle.
    private static readonly ContextPool<ZstdCompressionContext> CompressionContexts = new(ZstdCompressionContext.Create);
    private static readonly ContextPool<ZstdDecompressionContext> DecompressionContexts = new(ZstdDecompressionContext.Create);

    /// <summary>Lowest accepted level (negative levels trade ratio for speed).</summary>
    public static int MinLevel
    {
        get { NativeLibraries.EnsureZstd(); return LibZstd.ZSTD_minCLevel(); }
    }

    /// <summary>Highest accepted level (22 for zstd 1.5).</summary>
    public static int MaxLevel
    {
        get { NativeLibraries.EnsureZstd(); return LibZstd.ZSTD_maxCLevel(); }
    }

    /// <summary>The largest compressed size of <paramref name="length"/> input bytes: a destination this big never fails.</summary>
    public static int CompressBound(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        NativeLibraries.EnsureZstd();
        nuint bound = LibZstd.ZSTD_compressBound((nuint)length);
        // ZSTD_compressBound returns 0 when the input is too large to bound (about 2^64 bytes on
        // 64-bit), which cannot happen for an int; the int check is what can fail, near 2 GiB.
        if (bound == 0 || bound > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(length), length, "input too large for one zstd frame in a Span");
        return (int)bound;
    }

    /// <summary>
    /// Compresses <paramref name="source"/> into one frame at <paramref name="level"/>
    /// (0 means zstd's default, 3) and returns the frame's length. A destination of
    /// <see cref="CompressBound"/> bytes always suffices; a smaller one that turns out too small
    /// throws. Use <see cref="TryCompress"/> to treat "did not fit" as an ordinary outcome.
    /// </summary>
    public static int Compress(ReadOnlySpan<byte> source, Span<byte> destination, int level)
    {
        nuint result = CompressCore(source, destination, level);
        if (LibZstd.ZSTD_isError(result) != 0)
            throw new StrataException($"zstd compression failed: {ErrorName(result)}");
        return (int)result;
    }

    /// <summary>
    /// Like <see cref="Compress"/>, but returns false when the frame does not fit in
    /// <paramref name="destination"/>. Handy for "store it raw unless compression saves at least
    /// N bytes": give a destination N bytes shorter than the input and zstd stops as soon as it
    /// knows the frame will not fit.
    /// </summary>
    public static bool TryCompress(ReadOnlySpan<byte> source, Span<byte> destination, int level, out int bytesWritten)
    {
        nuint result = CompressCore(source, destination, level);
        if (LibZstd.ZSTD_isError(result) != 0)
        {
            if (LibZstd.ZSTD_getErrorCode(result) == LibZstd.ErrorDestinationTooSmall)
            {
                bytesWritten = 0;
                return false;
            }
            throw new StrataException($"zstd compression failed: {ErrorName(result)}");
        }
        bytesWritten = (int)result;
        return true;
    }

    /// <summary>
    /// Decompresses the frame(s) in <paramref name="source"/> into <paramref name="destination"/>
    /// and returns the number of bytes written. Stored data that zstd rejects, or that would not
    /// fit in <paramref name="destination"/> (sized from the index, so "too big" means damaged),
    /// throws <see cref="CorruptDataException"/>.
    /// </summary>
    public static int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        // zstd reads empty input as "zero frames" and returns 0 bytes; here a frame was expected.
        if (source.IsEmpty) throw new CorruptDataException("zstd frame is empty");
        NativeLibraries.EnsureZstd();
        var context = DecompressionContexts.Rent();
        nuint result;
        try
        {
            fixed (byte* src = source)
            fixed (byte* dst = destination)
            {
                result = LibZstd.ZSTD_decompressDCtx(context.DangerousGetHandle(), dst, (nuint)destination.Length, src, (nuint)source.Length);
            }
        }
        finally
        {
            DecompressionContexts.Return(context);
        }
        if (LibZstd.ZSTD_isError(result) != 0)
        {
            if (LibZstd.ZSTD_getErrorCode(result) == LibZstd.ErrorDestinationTooSmall)
                throw new CorruptDataException($"zstd frame decompresses to more than the expected {destination.Length} bytes");
            throw new CorruptDataException($"zstd frame cannot be decompressed: {ErrorName(result)}");
        }
        return (int)result;
    }

    /// <summary>
    /// The decompressed size stated in the header of the frame starting <paramref name="frame"/>,
    /// or -1 when the header does not state it. Throws <see cref="CorruptDataException"/> when
    /// <paramref name="frame"/> does not start with a valid zstd frame header.
    /// </summary>
    public static long FrameContentSize(ReadOnlySpan<byte> frame)
    {
        NativeLibraries.EnsureZstd();
        ulong size;
        fixed (byte* src = frame)
        {
            size = LibZstd.ZSTD_getFrameContentSize(src, (nuint)frame.Length);
        }
        if (size == LibZstd.ContentSizeUnknown) return -1;
        if (size == LibZstd.ContentSizeError) throw new CorruptDataException("not a valid zstd frame header");
        if (size > long.MaxValue) throw new CorruptDataException($"zstd frame header states an impossible size ({size} bytes)");
        return (long)size;
    }

    private static nuint CompressCore(ReadOnlySpan<byte> source, Span<byte> destination, int level)
    {
        NativeLibraries.EnsureZstd();
        // zstd silently clamps out-of-range levels; a typo in a config should not pass unnoticed.
        if (level < LibZstd.ZSTD_minCLevel() || level > LibZstd.ZSTD_maxCLevel())
            throw new ArgumentOutOfRangeException(nameof(level), level, $"zstd level must be between {MinLevel} and {MaxLevel}");
        var context = CompressionContexts.Rent();
        try
        {
            fixed (byte* src = source)
            fixed (byte* dst = destination)
            {
                // ZSTD_compressCCtx applies exactly this level and ignores any parameter left over from
                // an earlier call, so a pooled context cannot leak settings between callers.
                return LibZstd.ZSTD_compressCCtx(context.DangerousGetHandle(), dst, (nuint)destination.Length, src, (nuint)source.Length, level);
            }
        }
        finally
        {
            CompressionContexts.Return(context);
        }
    }

    private static string ErrorName(nuint code) =>
        Marshal.PtrToStringUTF8((nint)LibZstd.ZSTD_getErrorName(code)) ?? $"error {code}";
}
