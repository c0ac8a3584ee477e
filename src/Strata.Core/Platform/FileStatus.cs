namespace Strata.Platform;

/// <summary>
/// What <c>lstat</c>/<c>fstat</c> report about a file. Times are nanoseconds since the Unix epoch,
/// which a <see cref="long"/> holds for the years 1678 to 2262.
/// </summary>
/// <param name="Mode">The full <c>st_mode</c>: file type bits and permission bits.</param>
/// <param name="Blocks">Allocated space in 512-byte units (less than <paramref name="Size"/> for sparse files).</param>
public readonly record struct FileStatus(
    ulong Device,
    ulong Inode,
    uint Mode,
    ulong LinkCount,
    uint Uid,
    uint Gid,
    ulong RDev,
    long Size,
    long Blocks,
    long AtimeNs,
    long MtimeNs,
    long CtimeNs)
{
    private const uint TypeMask = 0xF000;      // S_IFMT   0170000
    private const uint PermissionMask = 0xFFF; //          07777: rwx for all three plus setuid, setgid, sticky

    /// <summary>The file type from <see cref="Mode"/>.</summary>
    /// <exception cref="InvalidOperationException">
    /// <see cref="Mode"/> holds no Linux file type; only a hand-made or default value can.
    /// </exception>
    public FileKind Kind => (Mode & TypeMask) switch
    {
        0x8000 => FileKind.Regular,     // S_IFREG  0100000
        0x4000 => FileKind.Directory,   // S_IFDIR  0040000
        0xA000 => FileKind.Symlink,     // S_IFLNK  0120000
        0x1000 => FileKind.Fifo,        // S_IFIFO  0010000
        0xC000 => FileKind.Socket,      // S_IFSOCK 0140000
        0x2000 => FileKind.CharDevice,  // S_IFCHR  0020000
        0x6000 => FileKind.BlockDevice, // S_IFBLK  0060000
        _ => throw new InvalidOperationException($"mode 0x{Mode:x} holds no known file type"),
    };

    /// <summary>Permission bits including setuid, setgid and sticky (<c>Mode &amp; 07777</c>).</summary>
    public uint Permissions => Mode & PermissionMask;

    internal static FileStatus From(in NativeStat s) => new(
        s.Dev, s.Ino, s.Mode, s.NLink, s.Uid, s.Gid, s.RDev, s.Size, s.Blocks,
        ToNs(s.AtimeSec, s.AtimeNsec), ToNs(s.MtimeSec, s.MtimeNsec), ToNs(s.CtimeSec, s.CtimeNsec));

    private static long ToNs(long seconds, long nanoseconds) => seconds * 1_000_000_000 + nanoseconds;
}
