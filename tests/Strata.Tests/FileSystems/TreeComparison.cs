using Microsoft.Win32.SafeHandles;
using Strata.Platform;

namespace Strata.Tests.FileSystems;

/// <summary>
/// Asserts that a restored tree equals its source: kinds, contents, holes, modes, owners, mtimes,
/// symlink targets, user xattrs. Times are compared to the second: mkfs.ext4 -d (e2fsprogs 1.47)
/// does not copy nanoseconds; Ext4FileSystemTests checks those on inodes debugfs gave them.
/// </summary>
internal static class TreeComparison
{
    public static void AssertSame(string source, string restored)
    {
        int entries = 0;
        Compare(source, restored, "", ref entries);
        Assert.True(entries > 0, "nothing was compared");
    }

    private static void Compare(string sourceRoot, string restoredRoot, string relative, ref int entries)
    {
        var names = Directory.EnumerateFileSystemEntries(Path.Combine(sourceRoot, relative)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var restoredNames = Directory.EnumerateFileSystemEntries(Path.Combine(restoredRoot, relative)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(names, restoredNames);
        foreach (var name in names)
        {
            entries++;
            string rel = Path.Combine(relative, name!);
            string a = Path.Combine(sourceRoot, rel), b = Path.Combine(restoredRoot, rel);
            var sa = Posix.LStat(a);
            var sb = Posix.LStat(b);
            Assert.True(sa.Kind == sb.Kind, $"{rel}: {sa.Kind} became {sb.Kind}");
            if (sa.Kind != FileKind.Symlink) Assert.True(sa.Permissions == sb.Permissions, $"{rel}: mode {Convert.ToString(sa.Permissions, 8)} became {Convert.ToString(sb.Permissions, 8)}");
            Assert.True(sa.Uid == sb.Uid && sa.Gid == sb.Gid, $"{rel}: owner {sa.Uid}:{sa.Gid} became {sb.Uid}:{sb.Gid}");
            long expectedMtime = sa.MtimeNs / 1_000_000_000 * 1_000_000_000;
            if (sa.Kind != FileKind.Symlink) Assert.True(expectedMtime == sb.MtimeNs, $"{rel}: mtime {expectedMtime} became {sb.MtimeNs}");
            Assert.Equal(UserXattrs(a), UserXattrs(b));
            switch (sa.Kind)
            {
                case FileKind.Directory:
                    Compare(sourceRoot, restoredRoot, rel, ref entries);
                    break;
                case FileKind.Symlink:
                    Assert.Equal(Posix.ReadLink(a), Posix.ReadLink(b));
                    break;
                case FileKind.Regular:
                    Assert.True(sa.Size == sb.Size, $"{rel}: size {sa.Size} became {sb.Size}");
                    AssertSameContent(a, b, rel);
                    // Holes stay holes: a restored file never takes much more space than its source.
                    Assert.True(sb.Blocks <= sa.Blocks + 64, $"{rel}: {sb.Blocks} blocks restored for {sa.Blocks}");
                    break;
            }
        }
    }

    /// <summary>Byte comparison that skips ranges that are holes in both files (a 5 GiB sparse file costs almost nothing).</summary>
    private static void AssertSameContent(string a, string b, string rel)
    {
        using SafeFileHandle ha = File.OpenHandle(a), hb = File.OpenHandle(b);
        long size = RandomAccess.GetLength(ha);
        var bufA = new byte[1 << 20];
        var bufB = new byte[1 << 20];
        long offset = 0;
        while (offset < size)
        {
            long da = Posix.SeekData(ha, offset), db = Posix.SeekData(hb, offset);
            long start = Math.Min(da < 0 ? size : da, db < 0 ? size : db);
            if (start >= size) break;
            int n = (int)Math.Min(bufA.Length, size - start);
            int ra = RandomAccess.Read(ha, bufA.AsSpan(0, n), start), rb = RandomAccess.Read(hb, bufB.AsSpan(0, n), start);
            Assert.Equal(n, ra);
            Assert.Equal(n, rb);
            if (!bufA.AsSpan(0, n).SequenceEqual(bufB.AsSpan(0, n)))
                Assert.Fail($"{rel}: contents differ in bytes {start} to {start + n}");
            offset = start + n;
        }
    }

    private static List<string> UserXattrs(string path) =>
        Posix.ListXattrs(path).Where(x => x.Key.StartsWith("user.", StringComparison.Ordinal))
            .Select(x => x.Key + "=" + Convert.ToHexString(x.Value)).ToList();
}
