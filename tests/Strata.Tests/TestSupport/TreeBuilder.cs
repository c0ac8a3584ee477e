using System.Security.Cryptography;
using System.Text;
using Strata.Platform;

namespace Strata.Tests.TestSupport;

/// <summary>
/// Builds real file trees for end-to-end tests: every kind of entry a backup must carry (holes,
/// hard links, symlinks, FIFOs, owners, modes, xattrs, old times). Paths are relative to
/// <see cref="Root"/>. Random content is seeded, so a tree can be rebuilt or changed predictably.
/// </summary>
public sealed class TreeBuilder
{
    public const string XattrName = "user.strata_test";
    public const string XattrValue = "xattr-value";

    public TreeBuilder(string root)
    {
        Root = Path.GetFullPath(root);
        System.IO.Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string PathOf(string relative) => relative is "" or "." ? Root : Path.Combine(Root, relative);

    public TreeBuilder Directory(string relative)
    {
        System.IO.Directory.CreateDirectory(PathOf(relative));
        return this;
    }

    public TreeBuilder File(string relative, string text) => File(relative, Encoding.UTF8.GetBytes(text));

    public TreeBuilder File(string relative, byte[] content)
    {
        var path = PathOf(relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, content);
        return this;
    }

    /// <summary>Incompressible content from a seeded generator, written in 1 MiB pieces.</summary>
    public TreeBuilder RandomFile(string relative, long size, int seed)
    {
        var path = PathOf(relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var random = new Random(seed);
        var buffer = new byte[1 << 20];
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        for (long left = size; left > 0; left -= buffer.Length)
        {
            random.NextBytes(buffer);
            stream.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
        }
        return this;
    }

    /// <summary>Text that compresses well (numbered log-like lines), seeded.</summary>
    public TreeBuilder TextFile(string relative, long size, int seed)
    {
        var path = PathOf(relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var random = new Random(seed);
        string[] words = ["backup", "restore", "chunk", "pack", "index", "snapshot", "tree", "blob", "key", "repository"];
        var sb = new StringBuilder();
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        long written = 0;
        for (long line = 0; written < size; line++)
        {
            sb.Clear();
            sb.Append("line ").Append(line).Append(' ').Append(seed).Append(':');
            for (int i = 0; i < 8; i++) sb.Append(' ').Append(words[random.Next(words.Length)]);
            sb.Append('\n');
            var bytes = Encoding.ASCII.GetBytes(sb.ToString());
            int n = (int)Math.Min(bytes.Length, size - written);
            stream.Write(bytes, 0, n);
            written += n;
        }
        return this;
    }

    /// <summary>A file of <paramref name="size"/> bytes that is one hole except for <paramref name="data"/> at <paramref name="offset"/>.</summary>
    public TreeBuilder SparseFile(string relative, long size, long offset, byte[] data)
    {
        var path = PathOf(relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var handle = System.IO.File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        RandomAccess.SetLength(handle, size);
        RandomAccess.Write(handle, data, offset);
        return this;
    }

    /// <summary>Overwrites <paramref name="data"/> at <paramref name="offset"/> without changing anything else.</summary>
    public TreeBuilder Overwrite(string relative, long offset, byte[] data)
    {
        using var handle = System.IO.File.OpenHandle(PathOf(relative), FileMode.Open, FileAccess.Write);
        RandomAccess.Write(handle, data, offset);
        return this;
    }

    /// <summary>Inserts <paramref name="data"/> at <paramref name="offset"/>, shifting the rest of the file.</summary>
    public TreeBuilder Insert(string relative, long offset, byte[] data)
    {
        var path = PathOf(relative);
        var temp = path + ".insert-tmp";
        using (var source = System.IO.File.OpenRead(path))
        using (var output = System.IO.File.Create(temp))
        {
            CopyBytes(source, output, offset);
            output.Write(data);
            source.CopyTo(output);
        }
        System.IO.File.Move(temp, path, overwrite: true);
        return this;
    }

    public TreeBuilder Append(string relative, string text)
    {
        System.IO.File.AppendAllText(PathOf(relative), text);
        return this;
    }

    public TreeBuilder HardLink(string relative, string existingRelative)
    {
        Posix.Link(PathOf(existingRelative), PathOf(relative));
        return this;
    }

    public TreeBuilder Symlink(string relative, string target)
    {
        Posix.Symlink(target, PathOf(relative));
        return this;
    }

    public TreeBuilder Fifo(string relative)
    {
        Posix.MkFifo(PathOf(relative), Convert.ToUInt32("644", 8));
        Posix.Chmod(PathOf(relative), Convert.ToUInt32("644", 8));
        return this;
    }

    public TreeBuilder Mode(string relative, string octal)
    {
        Posix.Chmod(PathOf(relative), Convert.ToUInt32(octal, 8));
        return this;
    }

    public TreeBuilder Owner(string relative, uint uid, uint gid)
    {
        Posix.LChown(PathOf(relative), uid, gid);
        return this;
    }

    /// <summary>Sets access and modification time of the entry itself (a symlink, not its target).</summary>
    public TreeBuilder Time(string relative, DateTimeOffset time, int extraNanoseconds = 0)
    {
        long ns = time.ToUnixTimeMilliseconds() * 1_000_000 + extraNanoseconds;
        Posix.SetTimes(PathOf(relative), ns, ns);
        return this;
    }

    /// <summary>Sets a user xattr; false when the file system has none (the caller then skips that check).</summary>
    public bool TrySetXattr(string relative, string name, string value)
    {
        try
        {
            Posix.SetXattr(PathOf(relative), name, Encoding.UTF8.GetBytes(value));
            return true;
        }
        catch (PosixException)
        {
            return false;
        }
    }

    public TreeBuilder Delete(string relative)
    {
        var path = PathOf(relative);
        if (Posix.TryLStat(path, out var st) && st.Kind == FileKind.Directory) System.IO.Directory.Delete(path, recursive: true);
        else System.IO.File.Delete(path);
        return this;
    }

    /// <summary>
    /// The tree of ../shared/checks/common.sh mk_tree and more: regular, empty and 1-byte files, 3 MB of
    /// random data and a copy of it, a hard link, a symlink and a dangling one, a 64 MiB sparse file with
    /// a few bytes in the middle, a FIFO, modes 600/755/750, another owner (when root), unicode and space
    /// names, a user xattr, and old times (also on a directory and a symlink). Returns whether the
    /// xattr could be set.
    /// </summary>
    public bool AddEveryKindOfEntry()
    {
        Directory("docs/deep/er/still").Directory("empty dir").Directory("ünïcødé ñame").Directory("bin");
        File("docs/hello.txt", "hello\n");
        File("docs/empty.txt", "");
        File("docs/one-byte", "x");
        RandomFile("bin/random.bin", 3_000_000, seed: 3);
        TextFile("docs/deep/er/still/text.txt", 200_000, seed: 4);
        System.IO.File.Copy(PathOf("bin/random.bin"), PathOf("docs/copy-of-random.bin"));
        HardLink("docs/hardlink-to-hello", "docs/hello.txt");
        Symlink("docs/symlink-to-hello", "hello.txt");
        Symlink("docs/dangling-link", "/nonexistent/target");
        SparseFile("bin/sparse.img", 64L << 20, 32L << 20, "middle"u8.ToArray());
        Fifo("bin/fifo");
        File("docs/private", "secret\n").Mode("docs/private", "600");
        File("bin/tool.sh", "#!/bin/sh\necho hi\n").Mode("bin/tool.sh", "755");
        Directory("bin/restricted").File("bin/restricted/inside.txt", "restricted\n").Mode("bin/restricted", "750");
        File("ünïcødé ñame/a file with spaces.txt", "file with spaces\n");
        if (Posix.EffectiveUid == 0) File("docs/owned-by-someone-else", "owner\n").Owner("docs/owned-by-someone-else", 4321, 8765);
        bool xattrs = TrySetXattr("docs/hello.txt", XattrName, XattrValue);
        // Times last: creating entries inside a directory changes the directory's mtime.
        var old = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
        Time("docs/one-byte", old, 123_456_789);
        Time("docs/deep", old);
        Time("docs/symlink-to-hello", old.AddDays(1));
        Time("bin/random.bin", old.AddYears(10), 1);
        return xattrs;
    }

    private static void CopyBytes(Stream source, Stream destination, long count)
    {
        var buffer = new byte[1 << 16];
        while (count > 0)
        {
            int n = source.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0) throw new EndOfStreamException();
            destination.Write(buffer, 0, n);
            count -= n;
        }
    }
}

/// <summary>What a test compares about one entry of a tree (lstat, never following symlinks).</summary>
public sealed record EntryFacts(
    string RelativePath, FileKind Kind, uint Permissions, uint Uid, uint Gid, long Size, long MtimeNs,
    string? LinkTarget, string? ContentHash, string Xattrs, ulong Device, ulong Inode, long AllocatedBytes);

/// <summary>Compares two real trees: contents byte for byte and the metadata a restore must reproduce.</summary>
public static class TreeComparison
{
    /// <summary>Every entry below <paramref name="root"/> (and "." for the root itself), by relative path.</summary>
    public static SortedDictionary<string, EntryFacts> Scan(string root, bool hashContents = true)
    {
        var result = new SortedDictionary<string, EntryFacts>(StringComparer.Ordinal);
        root = Path.GetFullPath(root).TrimEnd('/');
        Add(root, ".", result, hashContents);
        return result;
    }

    private static void Add(string path, string relative, SortedDictionary<string, EntryFacts> into, bool hashContents)
    {
        var st = Posix.LStat(path);
        var kind = st.Kind;
        string? hash = kind == FileKind.Regular && hashContents ? HashFile(path) : null;
        string? target = kind == FileKind.Symlink ? Posix.ReadLink(path) : null;
        var xattrs = string.Join(";", Posix.ListXattrs(path)
            .Where(x => x.Key.StartsWith("user.", StringComparison.Ordinal))
            .Select(x => x.Key + "=" + Convert.ToHexString(x.Value)));
        into[relative] = new EntryFacts(relative, kind, st.Permissions, st.Uid, st.Gid,
            kind == FileKind.Regular ? st.Size : 0, st.MtimeNs, target, hash, xattrs, st.Device, st.Inode, st.Blocks * 512);
        if (kind != FileKind.Directory) return;
        foreach (var child in System.IO.Directory.EnumerateFileSystemEntries(path))
        {
            var name = Path.GetFileName(child);
            Add(child, relative == "." ? name : relative + "/" + name, into, hashContents);
        }
    }

    public static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>
    /// The differences between two trees: entries missing or extra, type, contents, symlink targets,
    /// permissions, owner, mtime to the nanosecond (directories too), user xattrs, and hard links
    /// (names that share an inode in one tree must share one in the other, and only those).
    /// </summary>
    public static List<string> Differences(string expectedRoot, string actualRoot, Func<string, bool>? ignore = null)
    {
        var expected = Scan(expectedRoot);
        var actual = Scan(actualRoot);
        ignore ??= _ => false;
        var differences = new List<string>();
        foreach (var (path, e) in expected)
        {
            if (ignore(path)) continue;
            if (!actual.TryGetValue(path, out var a)) { differences.Add($"{path}: missing"); continue; }
            if (e.Kind != a.Kind) { differences.Add($"{path}: is a {a.Kind}, want {e.Kind}"); continue; }
            if (e.ContentHash != a.ContentHash) differences.Add($"{path}: contents differ (size {a.Size}, want {e.Size})");
            if (e.LinkTarget != a.LinkTarget) differences.Add($"{path}: symlink target '{a.LinkTarget}', want '{e.LinkTarget}'");
            if (e.Kind != FileKind.Symlink && e.Permissions != a.Permissions)
                differences.Add($"{path}: mode {Convert.ToString(a.Permissions, 8)}, want {Convert.ToString(e.Permissions, 8)}");
            if (e.Uid != a.Uid || e.Gid != a.Gid) differences.Add($"{path}: owner {a.Uid}:{a.Gid}, want {e.Uid}:{e.Gid}");
            if (e.MtimeNs != a.MtimeNs) differences.Add($"{path}: mtime {a.MtimeNs} ns, want {e.MtimeNs} ns");
            if (e.Xattrs != a.Xattrs) differences.Add($"{path}: xattrs '{a.Xattrs}', want '{e.Xattrs}'");
        }
        foreach (var path in actual.Keys)
            if (!ignore(path) && !expected.ContainsKey(path)) differences.Add($"{path}: unexpected entry");

        // Hard links: the partition of regular files by inode must be the same in both trees.
        string Groups(SortedDictionary<string, EntryFacts> tree) => string.Join(" | ", tree.Values
            .Where(f => f.Kind == FileKind.Regular && !ignore(f.RelativePath) && expected.ContainsKey(f.RelativePath))
            .GroupBy(f => (f.Device, f.Inode))
            .Where(g => g.Count() > 1)
            .Select(g => string.Join(",", g.Select(f => f.RelativePath).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal));
        var expectedGroups = Groups(expected);
        var actualGroups = Groups(actual);
        if (expectedGroups != actualGroups) differences.Add($"hard links: [{actualGroups}], want [{expectedGroups}]");
        return differences;
    }

    /// <summary>Fails with every difference (up to 30) unless the trees are the same.</summary>
    public static void AssertSame(string expectedRoot, string actualRoot, Func<string, bool>? ignore = null)
    {
        var differences = Differences(expectedRoot, actualRoot, ignore);
        if (differences.Count > 0)
            throw new Xunit.Sdk.XunitException($"{actualRoot} differs from {expectedRoot} in {differences.Count} way(s):\n  "
                + string.Join("\n  ", differences.Take(30)));
    }
}
