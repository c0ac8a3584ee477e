using Strata.Tests.FileSystems;

namespace Strata.Tests.Cli;

/// <summary>
/// 'strata image ls SNAP --files' and 'strata image restore SNAP --files PATH --target DIR' against a
/// real repository holding a backup of a GPT disk whose second partition mkfs.ext4 -d filled.
/// </summary>
public sealed class ImageFilesCommandTests : IDisposable
{
    private readonly CliWorkspace _ws = new("image-files");
    private readonly Ext4TestImage _image = new();
    private readonly string _snapshot;

    public ImageFilesCommandTests()
    {
        _ws.Init();
        string disk = DiskImages.Gpt(_image.Combine("disk.img"), _image.Image);
        _snapshot = (string)_ws.Cli.Run("image", "backup", disk, "--name", "vm", "--json").ShouldSucceed().Summary["snapshot_id"]!;
    }

    public void Dispose()
    {
        _image.Dispose();
        _ws.Dispose();
    }

    [Fact]
    public void Ls_files_lists_every_path_of_the_file_system_with_its_metadata()
    {
        var listed = _ws.Cli.Run("image", "ls", _snapshot, "--files", "--json").ShouldSucceed().JsonObjects.ToList();

        var expected = Directory.EnumerateFileSystemEntries(_image.Source, "*", SearchOption.AllDirectories)
            .Select(p => "/" + Path.GetRelativePath(_image.Source, p)).Append("/lost+found");
        Assert.Equal(expected.Order(StringComparer.Ordinal), listed.Select(o => (string)o["path"]!).Order(StringComparer.Ordinal));
        var huge = listed.Single(o => (string)o["path"]! == "/huge.img");
        Assert.Equal(SampleTree.HugeSize, (long)huge["size"]!);
        Assert.Equal("file", (string)huge["type"]!);
        var slow = listed.Single(o => (string)o["path"]! == "/links/slow");
        Assert.Equal(SampleTree.SlowLinkTarget, (string)slow["link_target"]!);
        var owned = listed.Single(o => (string)o["path"]! == "/owned.txt");
        Assert.Equal(1234, (int)owned["uid"]!);
        Assert.Equal(0x1B4, (int)owned["mode"]!);
    }

    [Fact]
    public void Ls_files_with_a_path_lists_its_entries_in_long_format()
    {
        var result = _ws.Cli.Run("image", "ls", "latest", "--name", "vm", "--files", "/links", "-l").ShouldSucceed();

        Assert.Contains(result.StdOutLines, l => l.StartsWith("lrwxrwxrwx") && l.EndsWith("/links/fast -> ../hello.txt"));
        Assert.Contains(result.StdOutLines, l => l.StartsWith("-rw-r--r--") && l.EndsWith("/links/hard-2"));
        Assert.Equal(4, result.StdOutLines.Count(l => l.Contains(" /links/")));
        Assert.Contains(result.StdOutLines, l => l.Contains("partition 2"));
    }

    [Fact]
    public void Restore_files_brings_back_the_whole_tree_identical_to_what_mkfs_put_in()
    {
        string target = _ws.PathOf("restored");
        var summary = _ws.Cli.Run("image", "restore", _snapshot, "--files", "/", "--target", target, "--json").ShouldSucceed().Summary;

        Assert.Equal(0, (int)summary["errors"]!);
        Assert.Equal(2, (int)summary["partition"]!);
        Assert.True((long)summary["bytes_fetched"]! < 40L << 20, "fetched more than the file system's data");
        Directory.Delete(Path.Combine(target, "lost+found"));
        TreeComparison.AssertSame(_image.Source, target);
    }

    [Fact]
    public void Restore_files_of_one_directory_and_the_errors_users_meet()
    {
        string target = _ws.PathOf("docs-only");
        _ws.Cli.Run("image", "restore", _snapshot, "--files", "/docs", "--target", target).ShouldSucceed();
        Assert.Equal("deep\n", File.ReadAllText(Path.Combine(target, "docs/a/b/c/deep.txt")));
        Assert.Equal(["docs"], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));

        var again = _ws.Cli.Run("image", "restore", _snapshot, "--files", "/docs", "--target", target).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("already exists", again.StdErr);
        var missing = _ws.Cli.Run("image", "restore", _snapshot, "--files", "/etc/passwd", "--target", target).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("/etc: no such file or directory", missing.StdErr);
        var partition = _ws.Cli.Run("image", "ls", _snapshot, "--files", "--partition", "1").ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("no ext2/3/4 file system", partition.StdErr);
        var noFlag = _ws.Cli.Run("image", "ls", _snapshot).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("add --files", noFlag.StdErr);
        var mixed = _ws.Cli.Run("image", "restore", _snapshot, "--files", "/docs", "--target", target, "--incremental").ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("--files restores files into a directory", mixed.StdErr);
    }
}
