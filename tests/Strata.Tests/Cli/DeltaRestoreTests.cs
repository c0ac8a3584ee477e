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

    private static byte[] TestBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
