using Strata.Platform;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>init → backup → restore through the real command, compared byte for byte and field by field.</summary>
public sealed class RoundTripTests : IDisposable
{
    private readonly CliWorkspace _ws = new("roundtrip");

    public void Dispose() => _ws.Dispose();

    [Fact]
    public void Restore_reproduces_every_kind_of_entry_exactly()
    {
        var tree = _ws.Tree("src");
        bool xattrs = tree.AddEveryKindOfEntry();
        _ws.Init();
        var summary = _ws.Backup(tree.Root);
        var target = _ws.PathOf("out");

        _ws.Cli.Run("restore", "latest", "--target", target).ShouldSucceed().ShouldNotShowStackTrace();

        var restored = CliWorkspace.Restored(target, tree.Root);
        TreeComparison.AssertSame(tree.Root, restored);

        // The comparison covers these; spelled out because each is a classic way to get a restore wrong.
        Assert.Equal(Posix.LStat(Path.Combine(restored, "docs/hello.txt")).Inode, Posix.LStat(Path.Combine(restored, "docs/hardlink-to-hello")).Inode);
        Assert.Equal("/nonexistent/target", Posix.ReadLink(Path.Combine(restored, "docs/dangling-link")));
        Assert.Equal(FileKind.Fifo, Posix.LStat(Path.Combine(restored, "bin/fifo")).Kind);
        Assert.Equal(Convert.ToUInt32("600", 8), Posix.LStat(Path.Combine(restored, "docs/private")).Permissions);
        Assert.Equal(Convert.ToUInt32("755", 8), Posix.LStat(Path.Combine(restored, "bin/tool.sh")).Permissions);
        var oneByte = Posix.LStat(Path.Combine(restored, "docs/one-byte"));
        Assert.Equal(new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000 + 123_456_789, oneByte.MtimeNs);
        if (Posix.EffectiveUid == 0)
        {
            var owned = Posix.LStat(Path.Combine(restored, "docs/owned-by-someone-else"));
            Assert.Equal((4321u, 8765u), (owned.Uid, owned.Gid));
        }
        if (xattrs)
        {
            var x = Posix.ListXattrs(Path.Combine(restored, "docs/hello.txt")).Single(p => p.Key == TreeBuilder.XattrName);
            Assert.Equal(TreeBuilder.XattrValue, System.Text.Encoding.UTF8.GetString(x.Value));
        }
        Assert.True((long)summary["files_new"]! >= 13, summary.ToJsonString());
    }

    [Fact]
    public void Sparse_file_stays_sparse_after_restore()
    {
        var tree = _ws.Tree("src");
        tree.SparseFile("disk.img", 64L << 20, 32L << 20, "middle"u8.ToArray());
        tree.SparseFile("tail.img", 16L << 20, (16L << 20) - 5, "tail!"u8.ToArray());
        _ws.Init();
        _ws.Backup(tree.Root);
        var target = _ws.PathOf("out");

        _ws.Cli.Run("restore", "latest", "--target", target).ShouldSucceed();

        var restored = CliWorkspace.Restored(target, tree.Root);
        TreeComparison.AssertSame(tree.Root, restored);
        foreach (var name in new[] { "disk.img", "tail.img" })
        {
            var source = Posix.LStat(tree.PathOf(name));
            var copy = Posix.LStat(Path.Combine(restored, name));
            Assert.Equal(source.Size, copy.Size);
            Assert.True(copy.Blocks * 512 <= source.Blocks * 512 + (1 << 20),
                $"{name}: {copy.Blocks * 512} bytes allocated after restore, {source.Blocks * 512} in the source: the holes were filled");
        }
    }

    [Fact]
    public void Restore_verify_checks_every_restored_file()
    {
        var tree = _ws.Tree("src");
        tree.RandomFile("a.bin", 1_500_000, seed: 1).TextFile("b.txt", 300_000, seed: 2).File("c.txt", "c").File("empty", "");
        _ws.Init();
        _ws.Backup(tree.Root);

        var result = _ws.Cli.Run("restore", "latest", "--target", _ws.PathOf("out"), "--verify", "--json").ShouldSucceed();

        Assert.Equal(4, (long)result.Summary["files_verified"]!);
        Assert.Equal(0, (long)result.Summary["errors"]!);
        TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(_ws.PathOf("out"), tree.Root));
    }

    [Fact]
    public void Restore_include_restores_only_matching_paths_and_their_parents()
    {
        var tree = _ws.Tree("src");
        tree.File("docs/a.txt", "a").File("docs/b.md", "b").File("docs/sub/c.txt", "c").File("other/d.bin", "d").File("e.txt", "e");
        _ws.Init();
        _ws.Backup(tree.Root);
        var target = _ws.PathOf("out");

        _ws.Cli.Run("restore", "latest", "--target", target, "--include", "*.txt").ShouldSucceed();

        var restored = CliWorkspace.Restored(target, tree.Root);
        var files = Directory.EnumerateFiles(restored, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(restored, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["docs/a.txt", "docs/sub/c.txt", "e.txt"], files);
        Assert.False(Directory.Exists(Path.Combine(restored, "other")), "a folder with nothing included was created");
        Assert.Equal("c", File.ReadAllText(Path.Combine(restored, "docs/sub/c.txt")));

        var target2 = _ws.PathOf("out2");
        _ws.Cli.Run("restore", "latest", "--target", target2, "--include", "docs/sub").ShouldSucceed();
        var restored2 = CliWorkspace.Restored(target2, tree.Root);
        Assert.Equal(["docs/sub/c.txt"], Directory.EnumerateFiles(restored2, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(restored2, f)));
    }
}
