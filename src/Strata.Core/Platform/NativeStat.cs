using System.Runtime.InteropServices;

namespace Strata.Platform;

/// <summary>
/// glibc's <c>struct stat</c> on x86-64 (144 bytes). Sequential layout pads <see cref="RDev"/> to
/// offset 40 as C does; the explicit size covers the three reserved words at the end.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 144)]
internal struct NativeStat
{
#pragma warning disable CS0649 // Filled in by the kernel, never by managed code.
    public ulong Dev;
    public ulong Ino;
    public ulong NLink;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public ulong RDev;
    public long Size;
    public long BlockSize;
    public long Blocks;
    public long AtimeSec;
    public long AtimeNsec;
    public long MtimeSec;
    public long MtimeNsec;
    public long CtimeSec;
    public long CtimeNsec;
#pragma warning restore CS0649
}

/// <summary><c>struct timespec</c>: seconds and nanoseconds (0 to 999 999 999).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timespec
{
    public long Seconds;
    public long Nanoseconds;

    /// <summary>Splits with floor division, since the kernel rejects negative nanoseconds (times before 1970).</summary>
    public static Timespec FromNs(long ns) => new()
    {
        Seconds = Math.DivRem(ns, 1_000_000_000, out long rest) - (rest < 0 ? 1 : 0),
        Nanoseconds = rest < 0 ? rest + 1_000_000_000 : rest,
    };
}
