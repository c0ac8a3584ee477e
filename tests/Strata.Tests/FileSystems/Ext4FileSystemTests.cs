using Strata.FileSystems;
using Strata.FileSystems.Ext4;
using Strata.Platform;

namespace Strata.Tests.FileSystems;

public sealed class Ext4FileSystemTests
{
    [Fact]
    public async Task A_default_mkfs_ext4_image_restores_identical_to_the_tree_it_was_made_from()
    {
        using var image = new Ext4TestImage(options: ["-b", "4096"]);
        string features = ExternalTool.Run("dumpe2fs", "-h", image.Image);
        foreach (var feature in new[] { "extent", "64bit", "flex_bg", "metadata_csum", "dir_index", "huge_file", "extra_isize" })
            Assert.Contains(feature, features.Split('\n').First(l => l.StartsWith("Filesystem features:")));
        // The sparse file's tree has index nodes (depth 1), not just the four extents the inode holds.
        Assert.Contains(" 1/ 1 ", image.Debugfs("ex /sparse.img"));

        await image.AssertRestoresIdenticalAsync();
    }

    [Fact]
    public async Task One_KiB_blocks_and_128_byte_inodes_restore_identical()
    {
        using var image = new Ext4TestImage(options: ["-b", "1024", "-I", "128"]);
        await image.AssertRestoresIdenticalAsync();
    }

    [Fact]
    public async Task Hash_indexed_directories_are_read_completely()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-b", "1024"]);
        // e2fsck -D rebuilds every directory as an htree (mkfs -d writes them linear).
        try { ExternalTool.Run("e2fsck", "-fyD", image.Image); }
        catch (InvalidOperationException e) when (e.Message.Contains("exited with 1")) { } // 1 = "file system was modified"
        Assert.Contains("Root node dump", image.Debugfs("htree /many"));

        await image.AssertRestoresIdenticalAsync();
    }

    [Fact]
    public async Task Inline_data_files_and_directories_restore_identical()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-O", "inline_data"]);
        Assert.Contains("Size of inline data", image.Debugfs("stat /hello.txt"));
        // mkfs.ext4 1.47.0 -d with inline_data drops a sparse file's trailing hole from its size;
        // the image, as debugfs reads it, is the reference.
        var size = System.Text.RegularExpressions.Regex.Match(image.Debugfs("stat /sparse.img"), @"Size: (\d+)");
        string sparse = Path.Combine(image.Source, "sparse.img");
        var before = Posix.LStat(sparse);
        using (var f = new FileStream(sparse, FileMode.Open)) f.SetLength(long.Parse(size.Groups[1].Value));
        Posix.SetTimes(sparse, before.AtimeNs, before.MtimeNs);

        await image.AssertRestoresIdenticalAsync();
    }

    [Fact]
    public async Task Ext3_block_mapped_files_with_triple_indirect_blocks_restore_identical()
    {
        using var image = new Ext4TestImage(mkfs: "mkfs.ext3", options: ["-b", "1024"]);
        Assert.Contains("TIND", image.Debugfs("stat /huge.img"));

        await image.AssertRestoresIdenticalAsync();
    }

    [Fact]
    public async Task Lookup_and_listing_report_what_the_source_tree_holds()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-b", "4096"]);
        using var source = FileBlockSource.Open(image.Image);
        var fs = await Ext4FileSystem.OpenAsync(source, CancellationToken.None);

        var root = await fs.ReadInodeAsync(Ext4FileSystem.RootInode, CancellationToken.None);
        var names = new List<string>();
        await foreach (var e in fs.ReadDirectoryAsync(root, CancellationToken.None)) names.Add(e.Name);
        var expected = Directory.EnumerateFileSystemEntries(image.Source).Select(Path.GetFileName).Append("lost+found");
        Assert.Equal(expected.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));

        var tool = await fs.LookupAsync("/bin/../bin/./tool", CancellationToken.None);
        var status = Posix.LStat(Path.Combine(image.Source, "bin/tool"));
        Assert.Equal(status.Mode, tool.Mode);
        Assert.Equal(status.Size, tool.Size);
        Assert.Equal(status.MtimeNs / 1_000_000_000, tool.ModificationTime.Seconds);
        Assert.NotNull(tool.BirthTime);

        Assert.Equal("../hello.txt", await fs.ReadSymlinkAsync(await fs.LookupAsync("links/fast", default), default));
        Assert.Equal(SampleTree.SlowLinkTarget, await fs.ReadSymlinkAsync(await fs.LookupAsync("links/slow", default), default));
        var xattrs = await fs.ReadXattrsAsync(await fs.LookupAsync("xattrs.txt", default), default);
        Assert.Equal("a comment"u8.ToArray(), xattrs.Single(x => x.Key == "user.comment").Value);
        Assert.Equal(700, xattrs.Single(x => x.Key == "user.large").Value.Length);

        var missing = await Assert.ThrowsAsync<Strata.Errors.UsageException>(() => fs.LookupAsync("/docs/nothing/here", default));
        Assert.Contains("/docs/nothing: no such file or directory", missing.Message);
        var throughLink = await Assert.ThrowsAsync<Strata.Errors.UsageException>(() => fs.LookupAsync("/links/fast/x", default));
        Assert.Contains("symbolic link", throughLink.Message);
    }

    [Fact]
    public async Task Restoring_one_path_creates_only_that_path_below_the_target()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        var result = await image.RestoreAsync("/docs/a/b/c/deep.txt");

        Assert.Empty(result.Errors);
        Assert.Equal(1, result.Files);
        Assert.Equal(["docs"], Directory.EnumerateFileSystemEntries(image.Target).Select(Path.GetFileName));
        Assert.Equal("deep\n", File.ReadAllText(Path.Combine(image.Target, "docs/a/b/c/deep.txt")));
    }

    [Fact]
    public async Task Restoring_a_directory_brings_its_whole_subtree_with_metadata()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        var result = await image.RestoreAsync("/many");

        Assert.Empty(result.Errors);
        Assert.Equal(SampleTree.ManyFiles, result.Files);
        var source = Posix.LStat(Path.Combine(image.Source, "many"));
        var restored = Posix.LStat(Path.Combine(image.Target, "many"));
        Assert.Equal(source.MtimeNs / 1_000_000_000 * 1_000_000_000, restored.MtimeNs);
        Assert.Equal(source.Permissions, restored.Permissions);
    }

    [Fact]
    public async Task Nanoseconds_and_epoch_bits_of_inode_times_are_decoded_and_restored()
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: ["-b", "4096"]);
        // Epoch bits 01 (seconds + 2^32, the year 2156) and 123456789 ns, as debugfs writes them.
        ExternalTool.Run("debugfs", "-w", "-R", "sif /hello.txt mtime_extra 0x1D6F3455", image.Image);
        ExternalTool.Run("debugfs", "-w", "-R", "sif /hello.txt atime_extra 0x00000004", image.Image);
        long seconds = Posix.LStat(Path.Combine(image.Source, "hello.txt")).MtimeNs / 1_000_000_000 + (1L << 32);

        using (var source = FileBlockSource.Open(image.Image))
        {
            var fs = await Ext4FileSystem.OpenAsync(source, default);
            var inode = await fs.LookupAsync("/hello.txt", default);
            Assert.Equal(new Ext4Timestamp(seconds, 123456789), inode.ModificationTime);
            Assert.Equal(1u, inode.AccessTime.Nanoseconds);
        }
        var result = await image.RestoreAsync("/hello.txt");
        Assert.Empty(result.Errors);
        Assert.Equal(seconds * 1_000_000_000 + 123456789, Posix.LStat(Path.Combine(image.Target, "hello.txt")).MtimeNs);
    }

    [Fact]
    public async Task The_tree_walker_yields_every_path_of_the_source_once_parents_first()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        using var source = FileBlockSource.Open(image.Image);
        var fs = await Ext4FileSystem.OpenAsync(source, default);
        var errors = new List<string>();

        var walked = new List<string>();
        await foreach (var (path, _) in Ext4TreeWalker.WalkAsync(fs, await fs.ReadInodeAsync(Ext4FileSystem.RootInode, default), "/", errors.Add, default))
            walked.Add(path);

        Assert.Empty(errors);
        var expected = Directory.EnumerateFileSystemEntries(image.Source, "*", SearchOption.AllDirectories)
            .Select(p => "/" + Path.GetRelativePath(image.Source, p)).Append("/lost+found");
        Assert.Equal(expected.Order(StringComparer.Ordinal), walked.Order(StringComparer.Ordinal));
        Assert.True(walked.IndexOf("/docs") < walked.IndexOf("/docs/a") && walked.IndexOf("/docs/a") < walked.IndexOf("/docs/a/b/c/deep.txt"));
    }

    [Fact]
    public async Task Posix_acls_come_back_in_the_format_setxattr_takes()
    {
        using var folder = new Strata.Tests.TestSupport.TempFolder("acl");
        string source = folder.Combine("source");
        Directory.CreateDirectory(source);
        string file = Path.Combine(source, "shared.txt");
        File.WriteAllText(file, "shared\n");
        // user::rw-, user:1234:r--, group::r--, mask::r--, other::r-- in the generic (version 2) format.
        byte[] acl = [2, 0, 0, 0, 1, 0, 6, 0, 255, 255, 255, 255, 2, 0, 4, 0, 0xD2, 0x04, 0, 0, 4, 0, 4, 0, 255, 255, 255, 255,
            0x10, 0, 4, 0, 255, 255, 255, 255, 0x20, 0, 4, 0, 255, 255, 255, 255];
        Posix.SetXattr(file, "system.posix_acl_access", acl);
        string image = folder.Combine("fs.img");
        ExternalTool.Run("mkfs.ext4", "-q", "-F", "-d", source, image, "16M");

        using var blocks = FileBlockSource.Open(image);
        var fs = await Ext4FileSystem.OpenAsync(blocks, default);
        var xattrs = await fs.ReadXattrsAsync(await fs.LookupAsync("/shared.txt", default), default);
        Assert.Equal(acl, xattrs.Single(x => x.Key == "system.posix_acl_access").Value);

        if (Posix.EffectiveUid != 0) return; // only root may set system.* attributes on restore
        var result = await new FileLevelRestore(fs, folder.Combine("target")).RestoreAsync("/shared.txt", default);
        Assert.Empty(result.Errors);
        Assert.Equal(acl, Posix.ListXattrs(folder.Combine("target", "shared.txt")).Single(x => x.Key == "system.posix_acl_access").Value);
    }

    [Theory]
    [InlineData("-b", "1024", "-O", "meta_bg,^resize_inode")]
    [InlineData("-O", "bigalloc", "-C", "16384")]
    [InlineData("-b", "65536", "-O", "^has_journal")]
    [InlineData("-O", "^64bit,^metadata_csum", "-E", "lazy_itable_init=1")]
    public async Task Less_common_layouts_restore_identical(params string[] options)
    {
        using var image = new Ext4TestImage(withHugeFile: false, options: options);
        await image.AssertRestoresIdenticalAsync();
    }
}
