using Strata.Platform;
using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Mount;

/// <summary>strata mount through the real command and the kernel's FUSE, compared with a restore of the same snapshot.</summary>
public sealed class MountTests : IDisposable
{
    private readonly CliWorkspace _ws = new("mount");

    public void Dispose() => _ws.Dispose();

    [FuseFact]
    public void Mounted_snapshot_is_the_same_tree_as_a_restore()
    {
        var tree = _ws.Tree("src");
        bool xattrs = tree.AddEveryKindOfEntry();
        _ws.Init();
        _ws.Backup(tree.Root);
        var target = _ws.PathOf("out");
        _ws.Cli.Run("restore", "latest", "--target", target).ShouldSucceed();
        var restored = CliWorkspace.Restored(target, tree.Root);

        using var mount = MountSession.Start(_ws, _ws.PathOf("mnt"));
        var mounted = mount.Latest(tree.Root);

        // Contents, types, symlink targets, modes, owners, mtimes to the nanosecond, user xattrs, hard-link groups.
        TreeComparison.AssertSame(restored, mounted);
        var (code, output) = CliWorkspace.RunTool("diff", "-r", "--no-dereference", restored, mounted);
        // diff reports every pair of FIFOs (it cannot compare them), between two local trees as well.
        var differences = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.EndsWith(" is a fifo", StringComparison.Ordinal)).ToList();
        Assert.True(code is 0 or 1 && differences.Count == 0, $"diff -r found differences (exit {code}):\n" + output);

        var hello = Posix.LStat(Path.Combine(mounted, "docs/hello.txt"));
        Assert.Equal(hello.Inode, Posix.LStat(Path.Combine(mounted, "docs/hardlink-to-hello")).Inode);
        Assert.Equal(2ul, hello.LinkCount);
        Assert.NotEqual(hello.Inode, Posix.LStat(Path.Combine(mounted, "docs/one-byte")).Inode);
        Assert.Equal(64L << 20, Posix.LStat(Path.Combine(mounted, "bin/sparse.img")).Size);
        if (xattrs)
        {
            var (getCode, getOutput) = CliWorkspace.RunTool("getfattr", "--absolute-names", "--only-values", "-n", TreeBuilder.XattrName, Path.Combine(mounted, "docs/hello.txt"));
            Assert.True(getCode == 0, getOutput);
            Assert.Equal(TreeBuilder.XattrValue, getOutput);
        }
    }

    [FuseFact]
    public void Reads_at_random_offsets_return_the_files_bytes()
    {
        var tree = _ws.Tree("src");
        tree.RandomFile("big.bin", 24_000_000, seed: 7).TextFile("log.txt", 3_000_000, seed: 8);
        _ws.Init();
        _ws.Backup(tree.Root);
        using var mount = MountSession.Start(_ws, _ws.PathOf("mnt"));

        var random = new Random(42);
        foreach (var name in new[] { "big.bin", "log.txt" })
        {
            var expected = File.ReadAllBytes(tree.PathOf(name));
            using var handle = File.OpenHandle(Path.Combine(mount.Latest(tree.Root), name));
            Assert.Equal(expected.Length, RandomAccess.GetLength(handle));
            for (int i = 0; i < 200; i++)
            {
                long offset = random.NextInt64(expected.Length + 10);
                var buffer = new byte[random.Next(1, 3 << 20)];
                int n = ReadFully(handle, buffer, offset);
                int want = (int)Math.Clamp(expected.Length - offset, 0, buffer.Length);
                Assert.Equal(want, n);
                Assert.True(expected.AsSpan((int)Math.Min(offset, expected.Length), want).SequenceEqual(buffer.AsSpan(0, n)), $"{name}: bytes at {offset} (+{n}) differ");
            }
        }
    }

    [FuseFact]
    public void Hosts_tags_and_latest_lead_to_the_right_snapshots()
    {
        var tree = _ws.Tree("src");
        tree.File("a.txt", "first");
        _ws.Init();
        var first = (string)_ws.Cli.Run("backup", "--json", "--tag", "daily", tree.Root).ShouldSucceed().Summary["snapshot_id"]!;
        tree.File("a.txt", "second");
        var second = (string)_ws.Cli.Run("backup", "--json", "--tag", "weekly", tree.Root).ShouldSucceed().Summary["snapshot_id"]!;

        using var mount = MountSession.Start(_ws, _ws.PathOf("mnt"));
        string Read(string path) => File.ReadAllText(mount.PathOf(path) + Path.GetFullPath(tree.PathOf("a.txt")));

        Assert.Equal(["daily", "weekly"], Directory.EnumerateFileSystemEntries(mount.PathOf("tags")).Select(Path.GetFileName).Order());
        Assert.Equal("first", Read($"snapshots/{first[..8]}"));
        Assert.Equal("second", Read($"snapshots/{second[..8]}"));
        Assert.Equal("second", Read("snapshots/latest"));
        Assert.Equal("first", Read("tags/daily/latest"));
        var host = Directory.EnumerateDirectories(mount.PathOf("hosts")).Single();
        var times = Directory.EnumerateFileSystemEntries(host).Select(p => Path.GetFileName(p)!).Where(n => n != "latest").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, times.Count);
        Assert.Equal("second", File.ReadAllText(Path.Combine(host, "latest") + Path.GetFullPath(tree.PathOf("a.txt"))));
        Assert.Equal("first", File.ReadAllText(Path.Combine(host, times[0]) + Path.GetFullPath(tree.PathOf("a.txt"))));
        Assert.Equal($"../../snapshots/{first[..8]}", Posix.ReadLink(Path.Combine(host, times[0])));
    }

    [FuseFact]
    public void The_mount_is_read_only()
    {
        var tree = _ws.Tree("src");
        tree.File("a.txt", "keep");
        _ws.Init();
        _ws.Backup(tree.Root);
        using var mount = MountSession.Start(_ws, _ws.PathOf("mnt"));
        var file = mount.Latest(tree.Root) + "/a.txt";

        Assert.ThrowsAny<IOException>(() => File.WriteAllText(file, "changed"));
        Assert.ThrowsAny<IOException>(() => File.Delete(file));
        Assert.ThrowsAny<IOException>(() => File.WriteAllText(mount.Latest(tree.Root) + "/new.txt", "x"));
        Assert.Equal("keep", File.ReadAllText(file));
    }

    [FuseFact]
    public void Sigterm_unmounts_and_exits_cleanly()
    {
        _ws.Init();
        var tree = _ws.Tree("src");
        tree.File("a.txt", "a");
        _ws.Backup(tree.Root);
        using var mount = MountSession.Start(_ws, _ws.PathOf("mnt"));

        var result = mount.Stop();

        result.ShouldSucceed().ShouldNotShowStackTrace();
        Assert.Contains("unmounted", result.StdErr);
        Assert.False(MountSession.IsMounted(mount.Mountpoint), "still mounted after SIGTERM");
        Assert.Empty(Directory.EnumerateFileSystemEntries(mount.Mountpoint));
    }

    [FuseFact]
    public void Sigterm_while_a_file_is_open_still_unmounts_and_exits_at_once()
    {
        _ws.Init();
        var tree = _ws.Tree("src");
        tree.RandomFile("a.bin", 1_000_000, seed: 1);
        _ws.Backup(tree.Root);
        using var mount = MountSession.Start(_ws, _ws.PathOf("mnt"));
        using var open = File.OpenHandle(mount.Latest(tree.Root) + "/a.bin");
        Assert.Equal(1000, RandomAccess.Read(open, new byte[1000], 0));

        // A service manager waits for the process after SIGTERM: a user's open file must not keep it (or the mount) alive.
        var result = mount.Stop(TimeSpan.FromSeconds(30));

        result.ShouldSucceed().ShouldNotShowStackTrace();
        Assert.False(MountSession.IsMounted(mount.Mountpoint), "a busy mount stayed mounted after SIGTERM");
        Assert.ThrowsAny<IOException>(() => RandomAccess.Read(open, new byte[1000], 500_000));
    }

    [Fact]
    public void A_missing_mountpoint_is_a_clear_error()
    {
        _ws.Init();
        var result = _ws.Cli.Run("mount", _ws.PathOf("no-such-dir"));
        result.ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("does not exist", result.StdErr);
    }

    [Fact]
    public void A_busy_mountpoint_is_a_clear_error()
    {
        _ws.Init();
        var busy = _ws.PathOf("busy");
        var failure = _ws.TryMountTmpfs(busy, "1m");
        Assert.True(failure is null, failure);

        var result = _ws.Cli.Run("mount", busy);

        result.ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("busy", result.StdErr);
    }

    private static int ReadFully(Microsoft.Win32.SafeHandles.SafeFileHandle handle, byte[] buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer.AsSpan(total), offset + total);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
