using System.Text.Json.Nodes;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary><c>strata backup</c>: the --json summary, change detection against the parent, and the selection options.</summary>
public sealed class BackupCommandTests : IDisposable
{
    private readonly CliWorkspace _ws = new("backup");

    public void Dispose() => _ws.Dispose();

    private TreeBuilder TenFiles()
    {
        var tree = _ws.Tree("src");
        for (int i = 0; i < 8; i++) tree.TextFile($"dir{i % 3}/text{i}.txt", 20_000 + i, seed: i);
        tree.RandomFile("big.bin", 2_000_000, seed: 99).File("small.txt", "small");
        return tree;
    }

    [Fact]
    public void Backup_json_ends_with_a_summary_with_the_documented_fields()
    {
        var tree = TenFiles();
        _ws.Init();

        var result = _ws.Cli.Run("backup", "--json", tree.Root).ShouldSucceed();

        var summary = result.Summary;
        Assert.Equal("summary", (string?)result.JsonObjects.Last()["message_type"]);
        foreach (var field in new[] { "snapshot_id", "files_new", "files_changed", "files_unmodified", "data_added", "total_bytes_processed", "total_duration" })
            Assert.True(summary.ContainsKey(field), $"summary lacks {field}: {summary.ToJsonString()}");
        Assert.Matches("^[0-9a-f]{64}$", (string)summary["snapshot_id"]!);
        Assert.Equal(10, (long)summary["files_new"]!);
        Assert.Equal(0, (long)summary["files_changed"]!);
        Assert.Equal(0, (long)summary["files_unmodified"]!);
        long total = Directory.EnumerateFiles(tree.Root, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.Equal(total, (long)summary["total_bytes_processed"]!);
        Assert.InRange((long)summary["data_added"]!, 2_000_000, total + 100_000); // random data cannot shrink; text compresses
        Assert.True((double)summary["total_duration"]! > 0);
        var ids = ((JsonArray)_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json).Select(s => (string)s!["id"]!);
        Assert.Equal([(string)summary["snapshot_id"]!], ids);
    }

    [Fact]
    public void Second_backup_of_an_unchanged_tree_reads_nothing_and_adds_almost_nothing()
    {
        var tree = TenFiles();
        _ws.Init();
        _ws.Backup(tree.Root);

        var second = _ws.Backup(tree.Root);

        Assert.Equal(10, (long)second["files_unmodified"]!);
        Assert.Equal(0, (long)second["files_new"]!);
        Assert.Equal(0, (long)second["files_changed"]!);
        Assert.True((long)second["data_added"]! < 20_000, $"an unchanged tree added {second["data_added"]} bytes");
    }

    [Fact]
    public void Reading_files_between_backups_does_not_make_their_directories_new()
    {
        var tree = TenFiles();
        _ws.Init();
        _ws.Backup(tree.Root);
        // The first backup read every file, and reading moves access times: these must not count as changes.
        foreach (var file in Directory.EnumerateFiles(tree.Root, "*", SearchOption.AllDirectories)) File.ReadAllBytes(file);

        var second = _ws.Backup(tree.Root);

        // Only the directories above the source (whose mtimes other tests move) may get new trees.
        int ancestors = tree.Root.Split('/', StringSplitOptions.RemoveEmptyEntries).Length + 1;
        Assert.True((long)second["tree_blobs"]! <= ancestors, $"{second["tree_blobs"]} new trees after only reading the files");
    }

    [Fact]
    public void Backup_after_changing_one_file_reports_one_changed_and_stores_little()
    {
        var tree = TenFiles();
        _ws.Init();
        _ws.Backup(tree.Root);
        tree.Append("dir1/text1.txt", "one more line\n");
        tree.File("dir2/new.txt", "brand new");

        var third = _ws.Backup(tree.Root);

        Assert.Equal(1, (long)third["files_changed"]!);
        Assert.Equal(1, (long)third["files_new"]!);
        Assert.Equal(9, (long)third["files_unmodified"]!);
        Assert.True((long)third["data_added"]! < 200_000, $"a one-line change added {third["data_added"]} bytes");
    }

    [Fact]
    public void Exclude_and_exclude_file_leave_matching_paths_out_of_the_snapshot()
    {
        var tree = _ws.Tree("src");
        tree.File("keep.txt", "k").File("scratch.tmp", "t").File("cache/blob", "c").File("deep/cache/x", "x")
            .File("logs/app.log", "l").File("logs/keep.txt", "k").File("notes.md", "n");
        var patterns = _ws.PathOf("excludes.txt");
        File.WriteAllText(patterns, "# comment line\n*.log\n\nnotes.md\n");
        _ws.Init();

        _ws.Cli.Run("backup", tree.Root, "--exclude", "*.tmp", "--exclude", "cache", "--exclude-file", patterns).ShouldSucceed();

        var listed = _ws.Cli.Run("ls", "latest", "--json").ShouldSucceed().JsonObjects
            .Select(o => (string)o["path"]!).Where(p => p.StartsWith(tree.Root + "/", StringComparison.Ordinal))
            .Select(p => p[(tree.Root.Length + 1)..]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["deep", "keep.txt", "logs", "logs/keep.txt"], listed);
    }

    [Fact]
    public void Tags_and_host_are_recorded_and_shown_by_snapshots_json()
    {
        var tree = _ws.Tree("src").File("a", "a");
        _ws.Init();

        _ws.Cli.Run("backup", tree.Root, "--tag", "daily", "--tag", "db,prod", "--host", "builder-7").ShouldSucceed();
        _ws.Cli.Run("backup", tree.Root).ShouldSucceed();

        var all = Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json);
        Assert.Equal(2, all.Count);
        var tagged = all.Single(s => (string)s!["hostname"]! == "builder-7")!;
        Assert.Equal(["daily", "db", "prod"], tagged["tags"]!.AsArray().Select(t => (string)t!).Order());
        Assert.Equal([tree.Root], tagged["paths"]!.AsArray().Select(p => (string)p!));
        var untagged = all.Single(s => (string)s!["hostname"]! != "builder-7")!;
        Assert.Empty(untagged["tags"]!.AsArray());

        var filtered = Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json", "--tag", "prod").ShouldSucceed().Json);
        Assert.Equal([(string)tagged["id"]!], filtered.Select(s => (string)s!["id"]!));
        var byHost = Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json", "--host", "builder-7").ShouldSucceed().Json);
        Assert.Single(byHost);
    }
}
