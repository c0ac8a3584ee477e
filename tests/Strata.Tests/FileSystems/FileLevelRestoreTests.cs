using Strata.Errors;
using Strata.Platform;
using Strata.Tests.TestSupport;

namespace Strata.Tests.FileSystems;

public sealed class FileLevelRestoreTests
{
    [Fact]
    public async Task Restore_never_overwrites_what_is_already_in_the_target()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        Directory.CreateDirectory(image.Target);
        File.WriteAllText(Path.Combine(image.Target, "hello.txt"), "mine");

        var e = await Assert.ThrowsAsync<UsageException>(() => image.RestoreAsync("/hello.txt"));
        Assert.Contains("already exists", e.Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(image.Target, "hello.txt")));
    }

    [Fact]
    public async Task Restore_never_follows_a_symlink_in_the_target_out_of_it()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        using var outside = new TempFolder("outside");
        Directory.CreateDirectory(image.Target);
        Posix.Symlink(outside.Path, Path.Combine(image.Target, "docs"));

        var e = await Assert.ThrowsAsync<UsageException>(() => image.RestoreAsync("/docs/a/b/c/deep.txt"));
        Assert.Contains("is in the way", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside.Path));
    }

    [Fact]
    public async Task Restoring_the_same_file_twice_through_two_hard_links_keeps_them_linked()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        var result = await image.RestoreAsync("/");

        Assert.Empty(result.Errors);
        var a = Posix.LStat(Path.Combine(image.Target, "hard-1"));
        var b = Posix.LStat(Path.Combine(image.Target, "links/hard-2"));
        Assert.Equal(a.Inode, b.Inode);
        Assert.Equal(2ul, a.LinkCount);
        Assert.Equal(FileKind.Fifo, Posix.LStat(Path.Combine(image.Target, "fifo")).Kind);
    }

    [Fact]
    public async Task A_path_missing_from_the_image_is_a_usage_error()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        var e = await Assert.ThrowsAsync<UsageException>(() => image.RestoreAsync("/etc/passwd"));
        Assert.Equal("/etc: no such file or directory in the ext4 file system", e.Message);
        Assert.False(Directory.Exists(image.Target));
    }
}
