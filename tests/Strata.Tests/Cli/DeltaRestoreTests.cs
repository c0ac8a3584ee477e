using Strata.Platform;
using Strata.Tests.TestSupport;
using Xunit.Abstractions;

namespace Strata.Tests.Cli;

/// <summary>
/// <c>strata restore --delta</c>: a target that holds another state of the tree is brought to the
/// snapshot by writing only what differs (files that changed, and inside a large file only its changed
/// chunks), reading only missing chunks from the repository; extra files go only with --delete.
/// </summary>
public sealed class DeltaRestoreTests(ITestOutputHelper output) : IDisposable
{
    private const long LargeSize = 40L << 20;
    private readonly CliWorkspace _ws = new("delta");

    public void Dispose() => _ws.Dispose();

    private TreeBuilder FirstState()
    {
        var tree = _ws.Tree("src");
        tree.RandomFile("large.bin", LargeSize, seed: 40);
        for (int i = 0; i < 12; i++) tree.RandomFile($"small/file{i:00}.bin", 300_000, seed: 100 + i);
        tree.TextFile("notes/readme.txt", 50_000, seed: 7).File("notes/removed-later.txt", "bye").Symlink("notes/link", "readme.txt");
        return tree;
    }

    private static long Field(CliResult result, string name) => (long)result.Summary[name]!;

    [Fact]
    public void Delta_restore_of_an_in_place_edit_writes_and_reads_only_the_changed_chunks()
    {
        var tree = FirstState();
        _ws.Init();
        var first = (string)_ws.Backup(tree.Root)["snapshot_id"]!;
        // Two small in-place edits in the 40 MiB file, one changed small file, one new, one removed.
        tree.Overwrite("large.bin", 10L << 20, new byte[100]).Overwrite("large.bin", 30L << 20, "changed!"u8.ToArray());
        tree.RandomFile("small/file03.bin", 300_000, seed: 999).File("notes/new.txt", "new").Delete("notes/removed-later.txt");
        var second = (string)_ws.Backup(tree.Root)["snapshot_id"]!;
        var target = _ws.PathOf("out");
        _ws.Cli.Run("restore", first, "--target", target).ShouldSucceed();
        var restored = CliWorkspace.Restored(target, tree.Root);
        var largeBefore = Posix.LStat(Path.Combine(restored, "large.bin"));
        var untouchedBefore = Posix.LStat(Path.Combine(restored, "small/file07.bin"));

        var result = _ws.Cli.Run("restore", second, "--target", target, "--delta", "--json").ShouldSucceed();

        // Byte for byte the second state; the file only the first state had stays (no --delete).
        TreeComparison.AssertSame(tree.Root, restored, ignore: p => p == "notes/removed-later.txt");
        Assert.True(File.Exists(Path.Combine(restored, "notes/removed-later.txt")), "without --delete an extra file must stay");
        long total = Field(result, "total_bytes");
        long written = Field(result, "bytes_written");
        long read = Field(result, "bytes_read");
        output.WriteLine($"in-place edits: total {total}, read {read}, written {written}");
        Assert.True(total > LargeSize, $"total_bytes {total}");
        // Changed: up to 2 chunks per edit (a chunk is at most 2 MiB with the default 512 KiB average), plus 300 kB and a few bytes.
        Assert.True(written < 9_000_000, $"wrote {written} bytes of {total} for two small edits, one changed 300 kB file and one new file");
        Assert.True(read > 300_000 && read < 9_500_000, $"read {read} bytes from the repository");
        var untouchedAfter = Posix.LStat(Path.Combine(restored, "small/file07.bin"));
        Assert.Equal((untouchedBefore.Inode, untouchedBefore.MtimeNs), (untouchedAfter.Inode, untouchedAfter.MtimeNs));
        Assert.Equal(largeBefore.Inode, Posix.LStat(Path.Combine(restored, "large.bin")).Inode);

        var withDelete = _ws.Cli.Run("restore", second, "--target", target, "--delta", "--delete", "--json").ShouldSucceed();
        TreeComparison.AssertSame(tree.Root, restored);
        Assert.Equal(1, Field(withDelete, "entries_deleted"));
        Assert.Equal(0, Field(withDelete, "bytes_written"));
    }

    [Fact]
    public void Delta_restore_after_an_insertion_reads_only_the_changed_chunks_and_rewrites_at_most_that_file()
    {
        var tree = FirstState();
        _ws.Init();
        var first = (string)_ws.Backup(tree.Root)["snapshot_id"]!;
        // 1000 bytes inserted at 20 MiB: everything after moves, yet only the chunk around the insertion is new.
        tree.Insert("large.bin", 20L << 20, TestBytes(1000, seed: 5));
        var second = (string)_ws.Backup(tree.Root)["snapshot_id"]!;
        var target = _ws.PathOf("out");
        _ws.Cli.Run("restore", first, "--target", target).ShouldSucceed();
        var restored = CliWorkspace.Restored(target, tree.Root);
        var before = TreeComparison.Scan(restored, hashContents: false);

        var result = _ws.Cli.Run("restore", second, "--target", target, "--delta", "--json").ShouldSucceed();

        TreeComparison.AssertSame(tree.Root, restored);
        long read = Field(result, "bytes_read");
        long written = Field(result, "bytes_written");
        long total = Field(result, "total_bytes");
        output.WriteLine($"insertion: total {total}, read {read}, written {written}");
        Assert.True(read < 6_000_000, $"read {read} bytes from the repository for a 1000-byte insertion");
        // Content after an insertion moves, so it is written again (the file is rebuilt beside the old one
        // and renamed over it); what must not happen is more than that one file being rewritten.
        Assert.True(written <= LargeSize + 1000, $"wrote {written} bytes: more than the one changed file");
        var after = TreeComparison.Scan(restored, hashContents: false);
        foreach (var (path, facts) in before.Where(e => e.Value.Kind == FileKind.Regular && e.Key != "large.bin"))
            Assert.True((facts.Inode, facts.MtimeNs) == (after[path].Inode, after[path].MtimeNs), $"{path} was rewritten though it did not change");
    }

    [Fact]
    public void Delta_restore_with_delete_removes_files_and_folders_the_snapshot_does_not_have()
    {
        var tree = _ws.Tree("src").File("a.txt", "a").File("sub/b.txt", "b");
        _ws.Init();
        _ws.Backup(tree.Root);
        var target = _ws.PathOf("out");
        _ws.Cli.Run("restore", "latest", "--target", target).ShouldSucceed();
        var restored = CliWorkspace.Restored(target, tree.Root);
        File.WriteAllText(Path.Combine(restored, "extra.txt"), "extra");
        Directory.CreateDirectory(Path.Combine(restored, "sub/extra-dir/deeper"));
        File.WriteAllText(Path.Combine(restored, "sub/extra-dir/deeper/f"), "f");
        File.WriteAllText(Path.Combine(restored, "a.txt"), "changed by someone");

        var kept = _ws.Cli.Run("restore", "latest", "--target", target, "--delta", "--json").ShouldSucceed();
        Assert.True(File.Exists(Path.Combine(restored, "extra.txt")));
        Assert.True(File.Exists(Path.Combine(restored, "sub/extra-dir/deeper/f")));
        Assert.Equal("a", File.ReadAllText(Path.Combine(restored, "a.txt")));
        Assert.Equal(0, Field(kept, "entries_deleted"));

        var deleted = _ws.Cli.Run("restore", "latest", "--target", target, "--delta", "--delete", "--json").ShouldSucceed();
        TreeComparison.AssertSame(tree.Root, restored);
        Assert.Equal(2, Field(deleted, "entries_deleted"));
    }

    [Fact]
    public void Delta_restore_into_an_empty_target_is_a_full_restore()
    {
        var tree = _ws.Tree("src");
        tree.AddEveryKindOfEntry();
        _ws.Init();
        _ws.Backup(tree.Root);

        var result = _ws.Cli.Run("restore", "latest", "--target", _ws.PathOf("out"), "--delta", "--json").ShouldSucceed();

        TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(_ws.PathOf("out"), tree.Root));
        Assert.True(Field(result, "bytes_read") > 3_000_000);
    }

    [Fact]
    public void Delta_restore_never_writes_into_a_file_that_is_hard_linked_from_outside_the_target()
    {
        var tree = _ws.Tree("src").RandomFile("data.bin", 4_000_000, seed: 1).File("other.txt", "other");
        _ws.Init();
        var first = (string)_ws.Backup(tree.Root)["snapshot_id"]!;
        tree.Overwrite("data.bin", 1_000_000, "edited"u8.ToArray());
        var second = (string)_ws.Backup(tree.Root)["snapshot_id"]!;
        var target = _ws.PathOf("out");
        _ws.Cli.Run("restore", first, "--target", target).ShouldSucceed();
        var restored = CliWorkspace.Restored(target, tree.Root);
        // A copy made with hard links (cp -al, rsnapshot): the old version lives on outside the target.
        var outsideCopy = _ws.PathOf("previous-version.bin");
        Posix.Link(Path.Combine(restored, "data.bin"), outsideCopy);
        var before = TreeComparison.HashFile(outsideCopy);

        _ws.Cli.Run("restore", second, "--target", target, "--delta").ShouldSucceed();

        Assert.True(before == TreeComparison.HashFile(outsideCopy), "delta restore wrote into a file outside the target through a hard link");
        TreeComparison.AssertSame(tree.Root, restored);
    }

    [Fact]
    public void Delta_restore_by_an_unprivileged_user_updates_read_only_files()
    {
        if (Posix.EffectiveUid != 0 || !File.Exists("/usr/bin/setpriv"))
        {
            output.WriteLine("needs root and setpriv to run the restore as an unprivileged user; not run");
            return;
        }
        var tree = _ws.Tree("src").RandomFile("generated.bin", 2_000_000, seed: 1).Mode("generated.bin", "444");
        _ws.Init();
        var first = (string)_ws.Backup(tree.Root)["snapshot_id"]!;
        tree.Mode("generated.bin", "644").Overwrite("generated.bin", 100, "regenerated"u8.ToArray()).Mode("generated.bin", "444");
        var second = (string)_ws.Backup(tree.Root)["snapshot_id"]!;
        OpenUpForEveryone(_ws.Root);
        var nobody = _ws.Cli.WithPrefix("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups").WithEnvironment("HOME", _ws.Root);
        var target = _ws.PathOf("out");
        nobody.Run("restore", first, "--target", target).ShouldSucceed();

        nobody.Run("restore", second, "--target", target, "--delta").ShouldSucceed();

        var restored = Path.Combine(CliWorkspace.Restored(target, tree.Root), "generated.bin");
        Assert.Equal(TreeComparison.HashFile(tree.PathOf("generated.bin")), TreeComparison.HashFile(restored));
        Assert.Equal(Convert.ToUInt32("444", 8), Posix.LStat(restored).Permissions);
    }

    [Fact]
    public void Delta_restore_replaces_entries_whose_type_changed()
    {
        var tree = _ws.Tree("src").File("was-dir", "now a file").Directory("was-file").File("was-file/inside.txt", "inside")
            .Symlink("was-regular", "target.txt").File("target.txt", "t").File("was-link", "regular now");
        _ws.Init();
        _ws.Backup(tree.Root);
        var target = _ws.PathOf("out");
        var restored = CliWorkspace.Restored(target, tree.Root);
        var old = new TreeBuilder(restored);
        old.File("was-dir/deep/file.txt", "old").File("was-file", "old file").File("was-regular", "old").Symlink("was-link", "target.txt");

        _ws.Cli.Run("restore", "latest", "--target", target, "--delta").ShouldSucceed();

        TreeComparison.AssertSame(tree.Root, restored);
    }

    private static void OpenUpForEveryone(string directory)
    {
        Posix.Chmod(directory, Convert.ToUInt32("777", 8));
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            var st = Posix.LStat(entry);
            if (st.Kind == FileKind.Directory) OpenUpForEveryone(entry);
            else if (st.Kind == FileKind.Regular && st.Permissions != Convert.ToUInt32("444", 8)) Posix.Chmod(entry, Convert.ToUInt32("666", 8));
        }
    }

    private static byte[] TestBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task A_restore_stopped_midway_says_how_to_finish_and_a_delta_restore_does()
    {
        var tree = FirstState();
        _ws.Init();
        _ws.Backup(tree.Root);
        var target = _ws.PathOf("out");

        // Downloads held to 8 MiB/s: the 44 MiB take 5 s, so Ctrl-C lands midway.
        CliResult stopped;
        using (var running = _ws.Cli.Start("--limit-download", "8192", "restore", "latest", "--target", target))
        {
            await Task.Delay(2000);
            Assert.False(running.HasExited, "the throttled restore ended before Ctrl-C");
            Assert.True(running.Signal(2));
            stopped = await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
        output.WriteLine(stopped.Describe());
        Assert.Equal(130, stopped.ExitCode);
        Assert.Contains($"{target} is partly restored", stopped.StdErr);
        Assert.Contains("--delta", stopped.StdErr);

        _ws.Cli.Run("restore", "latest", "--target", target, "--delta").ShouldSucceed();
        TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(target, tree.Root));
    }
}
