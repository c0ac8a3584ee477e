using System.Text;
using Strata.Platform;

namespace Strata.Tests.FileSystems;

/// <summary>
/// A directory tree with every kind of thing an ext4 reader must get right: small, empty, large and
/// sparse files (one with dozens of extents, so its extent tree needs index nodes; one past 4 GiB),
/// fast and slow symlinks, hard links, a fifo, modes with setuid, owners, nanosecond times,
/// extended attributes (some too big to fit in the inode), a directory of hundreds of entries,
/// deep nesting and non-ASCII names.
/// </summary>
internal static class SampleTree
{
    public const string SlowLinkTarget = "a/rather/long/symbolic/link/target/that/does/not/fit/into/the/sixty/bytes/of/i_block.txt";
    public const int ManyFiles = 400;
    public const int SparseIslands = 40;
    public const long HugeSize = (5L << 30) + 12345;

    public static void Create(string root, bool withHugeFile = true)
    {
        var random = new Random(42);
        Directory.CreateDirectory(root);
        Write(root, "hello.txt", "hello world\n"u8.ToArray(), 0x1A4, 1_600_000_000_123_456_789);
        Write(root, "empty", [], 0x180, 1_500_000_000_000_000_001);
        Write(root, "bin/tool", Bytes(random, 100_000), 0x9ED, 1_650_000_000_999_999_999); // 04755
        Write(root, "big.bin", Bytes(random, 3 << 20), 0x1A4, 1_700_000_000_500_000_000);
        Write(root, "docs/a/b/c/deep.txt", "deep\n"u8.ToArray(), 0x1A0, 1_600_000_001_000_000_000);
        Write(root, "café ☕.txt", Encoding.UTF8.GetBytes("unicode\n"), 0x1A4, 1_600_000_002_000_000_002);

        // Islands of data every 512 KiB: one extent each, so the tree outgrows the 4 slots in the inode.
        string sparse = Path.Combine(root, "sparse.img");
        using (var f = new FileStream(sparse, FileMode.CreateNew))
        {
            f.SetLength(SparseIslands * (512L << 10));
            for (int i = 0; i < SparseIslands; i++)
            {
                f.Position = i * (512L << 10) + (i % 3) * 1024;
                f.Write(Bytes(random, 4096 + i * 100));
            }
        }
        if (withHugeFile)
        {
            using var f = new FileStream(Path.Combine(root, "huge.img"), FileMode.CreateNew);
            f.SetLength(HugeSize);
            f.Write(Bytes(random, 5000));
            f.Position = HugeSize - 70_000;
            f.Write(Bytes(random, 70_000));
        }

        Directory.CreateDirectory(Path.Combine(root, "links"));
        Posix.Symlink("../hello.txt", Path.Combine(root, "links/fast"));
        Posix.Symlink(SlowLinkTarget, Path.Combine(root, "links/slow"));
        Posix.Symlink("/nonexistent/dangling", Path.Combine(root, "links/dangling"));
        Write(root, "hard-1", "linked twice\n"u8.ToArray(), 0x1A4, 1_600_000_003_000_000_000);
        Posix.Link(Path.Combine(root, "hard-1"), Path.Combine(root, "links/hard-2"));
        Posix.MkFifo(Path.Combine(root, "fifo"), 0x1B0);

        string xattrs = Write(root, "xattrs.txt", "attributes\n"u8.ToArray(), 0x1A4, 1_600_000_004_000_000_000);
        Posix.SetXattr(xattrs, "user.comment", "a comment"u8);
        Posix.SetXattr(xattrs, "user.binary", [0, 1, 2, 255]);
        Posix.SetXattr(xattrs, "user.large", Bytes(random, 700));

        string owned = Write(root, "owned.txt", "owned\n"u8.ToArray(), 0x1B4, 1_600_000_005_000_000_000);
        if (Posix.EffectiveUid == 0) Posix.LChown(owned, 1234, 5678);

        for (int i = 0; i < ManyFiles; i++)
            Write(root, $"many/file-{i:D4}-with-a-name-long-enough-to-fill-blocks.txt", Encoding.ASCII.GetBytes($"file {i}\n"), 0x1A4, 1_600_000_000_000_000_000 + i);

        // Directories last: creating their entries changed their times.
        Posix.Chmod(Path.Combine(root, "docs"), 0x1E8);
        Posix.SetTimes(Path.Combine(root, "docs"), 1_600_000_010_000_000_000, 1_600_000_010_111_111_111);
        Posix.SetTimes(Path.Combine(root, "many"), 1_600_000_011_000_000_000, 1_600_000_011_222_222_222);
    }

    private static string Write(string root, string relative, byte[] content, uint mode, long mtimeNs)
    {
        string path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        Posix.Chmod(path, mode);
        Posix.SetTimes(path, mtimeNs, mtimeNs);
        return path;
    }

    private static byte[] Bytes(Random random, int count)
    {
        var b = new byte[count];
        random.NextBytes(b);
        return b;
    }
}
