using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Strata.Platform;

public static unsafe partial class Posix
{
    // Large enough for the attribute names of nearly every file, so those cost one syscall and no garbage.
    private const int NameListStackBytes = 1024;
    private const int ValueStackBytes = 512;

    /// <summary>
    /// Every extended attribute of <paramref name="path"/> itself (not a symlink's target), sorted by name
    /// (ordinal). Empty when the file system has no extended attributes (ENOTSUP).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, byte[]>> ListXattrs(string path)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        Span<byte> names = stackalloc byte[NameListStackBytes];
        Span<byte> valueScratch = stackalloc byte[ValueStackBytes];
        byte[]? rented = null;
        try
        {
            fixed (byte* pp = p)
            {
                int listLength;
                while (true)
                {
                    nint n;
                    fixed (byte* np = names)
                        n = LibC.llistxattr(pp, np, names.Length);
                    if (n >= 0)
                    {
                        listLength = (int)n;
                        break;
                    }
                    int errno = LastErrno;
                    if (errno == Errno.ENOTSUP)
                        return [];
                    if (errno != Errno.ERANGE)
                        throw new PosixException(errno, path);
                    // Too small: ask for the size, then retry, since attributes may be added in between.
                    nint needed = LibC.llistxattr(pp, null, 0);
                    if (needed < 0)
                        throw new PosixException(LastErrno, path);
                    if (rented is not null)
                        ArrayPool<byte>.Shared.Return(rented);
                    names = rented = ArrayPool<byte>.Shared.Rent((int)needed);
                }
                if (listLength == 0)
                    return [];

                var result = new List<KeyValuePair<string, byte[]>>();
                fixed (byte* list = names)
                {
                    // The list is NUL-terminated names back to back; each can be passed to libc in place.
                    for (int start = 0; start < listLength;)
                    {
                        int length = names[start..listLength].IndexOf((byte)0);
                        if (length < 0)
                            length = listLength - start;
                        byte[]? value = GetXattr(pp, list + start, valueScratch, path);
                        // null: removed since it was listed, so it is not part of the file any more.
                        if (value is not null)
                            result.Add(new(Encoding.UTF8.GetString(names.Slice(start, length)), value));
                        start += length + 1;
                    }
                }
                result.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
                return result;
            }
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Creates or replaces one extended attribute on <paramref name="path"/> itself.</summary>
    public static void SetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]);
        using var n = new NativePath(name, stackalloc byte[NativePath.StackBytes]);
        fixed (byte* pp = p, np = n, vp = value)
        {
            if (LibC.lsetxattr(pp, np, vp, value.Length, 0) != 0)
                throw new PosixException(LastErrno, path, $"extended attribute {name}");
        }
    }

    /// <summary>One attribute's value, or null when it no longer exists (ENODATA).</summary>
    private static byte[]? GetXattr(byte* path, byte* name, Span<byte> scratch, string pathForErrors)
    {
        nint length;
        fixed (byte* sp = scratch)
            length = LibC.lgetxattr(path, name, sp, scratch.Length);
        if (length >= 0)
            return scratch[..(int)length].ToArray();

        while (true)
        {
            int errno = LastErrno;
            if (errno == Errno.ENODATA)
                return null;
            if (errno != Errno.ERANGE)
                throw new PosixException(errno, pathForErrors, $"extended attribute {Marshal.PtrToStringUTF8((nint)name)}");

            // Larger than the scratch: size it, then read it, again if it grew in between.
            length = LibC.lgetxattr(path, name, null, 0);
            if (length < 0)
                continue;
            byte[] value = new byte[length];
            fixed (byte* vp = value)
                length = LibC.lgetxattr(path, name, vp, value.Length);
            if (length >= 0)
                return length == value.Length ? value : value[..(int)length];
        }
    }
}
