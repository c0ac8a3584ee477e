using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

/// <summary>
/// O_DIRECT on Linux: writing (or reading) past the page cache, with the aligned memory it needs.
/// Why: see <see cref="UncachedAppendFile"/>. Callers fall back to buffered I/O where a file system
/// refuses the flag or a direct write (EINVAL).
/// </summary>
internal static unsafe class DirectIo
{
    /// <summary>Direct I/O wants buffer addresses, offsets and lengths in multiples of the logical block size; 4 KiB covers every common one.</summary>
    public const int Alignment = 4096;

    /// <summary>Size of the pooled aligned buffers.</summary>
    public const int BufferSize = 1 << 20;

    private const int ODirect = 0x4000; // 040000 on x86-64 and aarch64
    private const int FGetFl = 3, FSetFl = 4;

    /// <summary>Turns O_DIRECT on or off for an open file; true when it is now on.</summary>
    public static bool TrySet(SafeFileHandle file, bool on)
    {
        int flags = LibC.fcntl(file, FGetFl, 0);
        if (flags < 0) return false;
        int wanted = on ? flags | ODirect : flags & ~ODirect;
        return LibC.fcntl(file, FSetFl, wanted) == 0 && on;
    }

    /// <summary>Whether the file system holding <paramref name="path"/> (an existing file) takes O_DIRECT.</summary>
    public static bool IsSupported(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return TrySet(handle, on: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// pwrite until all <paramref name="count"/> bytes are written; returns fewer when the file system
    /// refused the write with EINVAL (a direct write it does not take, or the unaligned rest of a short
    /// one), for the caller to finish buffered. Any other failure throws.
    /// </summary>
    public static int WriteAll(SafeFileHandle file, byte* buffer, int count, long offset, string pathForErrors)
    {
        int done = 0;
        while (done < count)
        {
            nint n = LibC.pwrite(file, buffer + done, count - done, offset + done);
            if (n > 0) { done += (int)n; continue; }
            int errno = n < 0 ? Marshal.GetLastPInvokeError() : Errno.EIO;
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EINVAL) return done;
            throw new PosixException(errno, pathForErrors);
        }
        return done;
    }

    public static bool IsAligned(long offset, int length) => (offset | (long)length) % Alignment == 0;

    /// <summary>
    /// Aligned <see cref="BufferSize"/> buffers kept between uses: a restore needs some per large file
    /// or per writer, and a freshly mapped MiB costs 256 page faults before its first byte is copied.
    /// </summary>
    public static class Buffers
    {
        private const int MaxKept = 8;
        private static readonly ConcurrentBag<nint> Kept = new();
        private static int _count;

        public static byte* Rent()
        {
            if (Kept.TryTake(out nint buffer))
            {
                Interlocked.Decrement(ref _count);
                return (byte*)buffer;
            }
            return (byte*)NativeMemory.AlignedAlloc(BufferSize, Alignment);
        }

        public static void Return(byte* buffer)
        {
            if (buffer is null) return;
            if (Interlocked.Increment(ref _count) <= MaxKept)
            {
                Kept.Add((nint)buffer);
                return;
            }
            Interlocked.Decrement(ref _count);
            NativeMemory.AlignedFree(buffer);
        }
    }
}
