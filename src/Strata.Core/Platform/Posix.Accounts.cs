using System.Buffers;
using System.Runtime.InteropServices;

namespace Strata.Platform;

public static unsafe partial class Posix
{
    // Enough for nearly every passwd entry; group entries list their members and can be far larger.
    private const int AccountStackBytes = 1024;
    private const int AccountMaxBytes = 1 << 24;

    /// <summary>The user name for <paramref name="uid"/> (via NSS), or null if there is none.</summary>
    public static string? UserName(uint uid) => AccountName(uid, group: false);

    /// <summary>The group name for <paramref name="gid"/> (via NSS), or null if there is none.</summary>
    public static string? GroupName(uint gid) => AccountName(gid, group: true);

    private static string? AccountName(uint id, bool group)
    {
        Span<byte> buffer = stackalloc byte[AccountStackBytes];
        byte[]? rented = null;
        try
        {
            while (true)
            {
                int error;
                byte* name = null;
                fixed (byte* bp = buffer)
                {
                    if (group)
                    {
                        NativeGroup entry;
                        NativeGroup* found;
                        error = LibC.getgrgid_r(id, &entry, bp, buffer.Length, &found);
                        if (error == 0 && found != null)
                            name = found->Name;
                    }
                    else
                    {
                        NativePasswd entry;
                        NativePasswd* found;
                        error = LibC.getpwuid_r(id, &entry, bp, buffer.Length, &found);
                        if (error == 0 && found != null)
                            name = found->Name;
                    }
                    // The name points into the buffer, so read it while the buffer is still pinned.
                    if (name != null)
                        return Marshal.PtrToStringUTF8((nint)name);
                }
                // Names only label backups and listings, so a lookup that fails (NSS down, bad entry)
                // leaves the number alone rather than failing the operation; only a small buffer is retried.
                if (error != Errno.ERANGE || buffer.Length >= AccountMaxBytes)
                    return null;
                int larger = buffer.Length * 4;
                if (rented is not null)
                    ArrayPool<byte>.Shared.Return(rented);
                buffer = rented = ArrayPool<byte>.Shared.Rent(larger);
            }
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
