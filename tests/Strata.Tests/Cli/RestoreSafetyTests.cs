using System.Text;
using Strata.Platform;
using Strata.Repository;
using Strata.Snapshots;
using Strata.Storage;
using Strata.Tests.TestSupport;
using StrataRepository = Strata.Repository.Repository;

namespace Strata.Tests.Cli;

/// <summary>
/// <c>strata restore</c> never writes outside its target: not through symlinks already in the
/// target, and not for a damaged or hostile snapshot (names with "..", "/", NUL, symlinked parents).
/// </summary>
public sealed class RestoreSafetyTests : IDisposable
{
    private readonly CliWorkspace _ws = new("restore-safety");

    public void Dispose() => _ws.Dispose();

    private TreeBuilder SmallTree()
    {
        var tree = _ws.Tree("src");
        tree.File("docs/a.txt", "a").File("docs/sub/b.txt", "b").File("top.txt", "top");
        return tree;
    }

    private string EmptyOutsideFolder(string name = "outside")
    {
        var outside = _ws.PathOf(name);
        Directory.CreateDirectory(outside);
        Posix.Chmod(outside, Convert.ToUInt32("700", 8));
        return outside;
    }

    private static void AssertUntouched(string outside, FileStatus before)
    {
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        var after = Posix.LStat(outside);
        Assert.True(before.Permissions == after.Permissions, $"the mode of {outside} changed from {Convert.ToString(before.Permissions, 8)} to {Convert.ToString(after.Permissions, 8)}: restore changed metadata outside its target");
        Assert.True(before.MtimeNs == after.MtimeNs, $"the mtime of {outside} changed: restore touched it");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Restore_never_writes_through_a_symlink_placed_where_a_folder_goes(bool delta)
    {
        var tree = SmallTree();
        _ws.Init();
        _ws.Backup(tree.Root);
        var outside = EmptyOutsideFolder();
        var before = Posix.LStat(outside);
        var target = _ws.PathOf("out");
        var restored = CliWorkspace.Restored(target, tree.Root);
        Directory.CreateDirectory(restored);
        Posix.Symlink(outside, Path.Combine(restored, "docs"));

        var args = new List<string> { "restore", "latest", "--target", target };
        if (delta) args.Add("--delta");
        _ws.Cli.Run([.. args]).ShouldNotShowStackTrace();

        AssertUntouched(outside, before);
        Assert.Equal(FileKind.Directory, Posix.LStat(Path.Combine(restored, "docs")).Kind);
        Assert.Equal("b", File.ReadAllText(Path.Combine(restored, "docs/sub/b.txt")));
    }

    [Fact]
    public void Restore_never_writes_through_a_symlink_placed_at_the_top_of_the_target()
    {
        var tree = SmallTree();
        _ws.Init();
        _ws.Backup(tree.Root);
        var outside = EmptyOutsideFolder();
        var before = Posix.LStat(outside);
        var target = _ws.PathOf("out");
        Directory.CreateDirectory(target);
        var firstComponent = tree.Root.Split('/', StringSplitOptions.RemoveEmptyEntries)[0];
        Posix.Symlink(outside, Path.Combine(target, firstComponent));

        _ws.Cli.Run("restore", "latest", "--target", target).ShouldNotShowStackTrace();

        AssertUntouched(outside, before);
        Assert.Equal("top", File.ReadAllText(Path.Combine(CliWorkspace.Restored(target, tree.Root), "top.txt")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Restore_replaces_a_symlink_placed_where_a_file_goes_instead_of_writing_through_it(bool delta)
    {
        var tree = SmallTree();
        _ws.Init();
        _ws.Backup(tree.Root);
        var victim = _ws.PathOf("victim.txt");
        File.WriteAllText(victim, "must stay");
        var target = _ws.PathOf("out");
        var restored = CliWorkspace.Restored(target, tree.Root);
        Directory.CreateDirectory(restored);
        Posix.Symlink(victim, Path.Combine(restored, "top.txt"));

        var args = new List<string> { "restore", "latest", "--target", target };
        if (delta) args.Add("--delta");
        _ws.Cli.Run([.. args]).ShouldSucceed();

        Assert.Equal("must stay", File.ReadAllText(victim));
        Assert.Equal(FileKind.Regular, Posix.LStat(Path.Combine(restored, "top.txt")).Kind);
        Assert.Equal("top", File.ReadAllText(Path.Combine(restored, "top.txt")));
    }

    [Fact]
    public async Task Restore_of_a_hostile_snapshot_writes_nothing_outside_the_target_and_names_the_unsafe_entries()
    {
        _ws.Init();
        var outside = EmptyOutsideFolder();
        var before = Posix.LStat(outside);
        var escapeName = $"strata-escape-{Guid.NewGuid():N}.txt";
        await WriteHostileSnapshotAsync(outside, escapeName);
        var target = _ws.PathOf("nest", "out");
        Directory.CreateDirectory(target);
        var workspaceEntries = Directory.EnumerateFileSystemEntries(_ws.Root).Order().ToList();

        var result = _ws.Cli.Run("restore", "latest", "--target", target);

        result.ShouldNotShowStackTrace();
        AssertUntouched(outside, before);
        Assert.Equal(workspaceEntries, Directory.EnumerateFileSystemEntries(_ws.Root).Order().ToList());
        Assert.Equal(["out"], Directory.EnumerateFileSystemEntries(_ws.PathOf("nest")).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), escapeName)), "a name with ../ escaped to /tmp");
        Assert.False(File.Exists(Path.Combine("/", escapeName)));
        // Whatever exists below the target is a real file or folder inside it, or a symlink (which restore may create, never follow).
        foreach (var entry in Directory.EnumerateFileSystemEntries(target, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            Assert.StartsWith(target + "/", Path.GetFullPath(entry));
        Assert.Equal("fine", File.ReadAllText(Path.Combine(target, "good.txt")));
        Assert.Equal("fine", File.ReadAllText(Path.Combine(target, "sub", "good.txt")));

        // The user is told which entries were refused; a refused entry is an error, so the exit code says so.
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("a/b", result.StdErr);
        Assert.Contains("x\\0y", result.StdErr);
        Assert.Contains("/..", result.StdErr);
        Assert.Contains("unsafe", result.StdErr);
    }

    /// <summary>
    /// A snapshot no honest backup makes, written with the Core API: entries named "..", ".", "a/b",
    /// "x\0y" and "../../NAME", a folder named "..", and a folder and a symlink to <paramref name="outside"/>
    /// under one name (so the folder's contents and metadata would land outside if the symlink were followed).
    /// </summary>
    private async Task WriteHostileSnapshotAsync(string outside, string escapeName)
    {
        using var repo = await StrataRepository.OpenAsync(new LocalDirectoryBackend(_ws.RepositoryPath), CliRunner.DefaultPassword);
        await repo.LoadIndexAsync();
        BlobId rootId;
        await using (var writer = new BlobWriter(repo))
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
            Node FileNode(string name, string text) => new()
            {
                Name = name, Type = Node.FileType, Mode = Convert.ToUInt32("644", 8), MtimeNs = now, Size = Encoding.UTF8.GetByteCount(text),
                Content = [writer.Save(BlobType.Data, Encoding.UTF8.GetBytes(text), out _)],
            };
            Node DirNode(string name, Tree tree) => new()
            {
                Name = name, Type = Node.DirType, Mode = Convert.ToUInt32("777", 8), MtimeNs = now - 1_000_000_000_000,
                Subtree = writer.Save(BlobType.Tree, tree.Serialize(), out _),
            };
            Node LinkNode(string name, string target) => new() { Name = name, Type = Node.SymlinkType, Mode = Convert.ToUInt32("777", 8), MtimeNs = now, LinkTarget = target };
            List<Node> Hostile() =>
            [
                FileNode("..", "dotdot"), FileNode(".", "dot"), FileNode("a/b", "slash"), FileNode("x\0y", "nul"),
                FileNode("../../" + escapeName, "escape"), FileNode("", "empty name"),
                DirNode("..", new Tree { Nodes = [FileNode("pwned.txt", "pwned")] }),
                FileNode("good.txt", "fine"),
            ];

            var sub = new Tree { Nodes = Hostile() };
            var root = new Tree { Nodes = Hostile() };
            root.Nodes.Add(DirNode("sub", sub));
            // One name, two entries: a folder with a file in it, and a symlink to the outside folder.
            root.Nodes.Add(DirNode("evil", new Tree { Nodes = [FileNode("through-symlink.txt", "through")] }));
            root.Nodes.Add(LinkNode("evil", outside));
            root.Nodes.Add(LinkNode("evil2", outside));
            root.Nodes.Add(DirNode("evil2", new Tree { Nodes = [FileNode("through-symlink.txt", "through")] }));
            rootId = writer.Save(BlobType.Tree, root.Serialize(), out _);
            await writer.FlushAsync();
        }
        await repo.SaveSnapshotAsync(new Snapshot
        {
            Time = DateTimeOffset.UtcNow,
            Tree = rootId,
            Paths = ["/hostile"],
            Hostname = "attacker",
            Username = "attacker",
            ProgramVersion = "hand-made",
        });
    }
}
