using System.Text.Json.Nodes;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>A repository with two snapshots of one changing tree, shared by the read-only commands' tests.</summary>
public sealed class TwoSnapshotRepository : IDisposable
{
    public TwoSnapshotRepository()
    {
        Workspace = new CliWorkspace("browse");
        Tree = Workspace.Tree("src");
        Tree.File("docs/report-2023.txt", "last year's report\n").File("docs/keep.txt", "version 1\n")
            .Symlink("docs/link", "keep.txt")
            .RandomFile("bin/random.bin", 1_000_000, seed: 5).RandomFile("bin/copy.bin", 1_000_000, seed: 5)
            .TextFile("logs/app.log", 400_000, seed: 6);
        Workspace.Init();
        First = (string)Workspace.Backup(Tree.Root)["snapshot_id"]!;
        Tree.Delete("docs/report-2023.txt").File("docs/report-2024.txt", "this year's report\n").File("docs/keep.txt", "version 2, longer\n");
        Second = (string)Workspace.Backup(Tree.Root)["snapshot_id"]!;
    }

    public CliWorkspace Workspace { get; }
    public TreeBuilder Tree { get; }
    public string First { get; }
    public string Second { get; }

    public void Dispose() => Workspace.Dispose();
}

/// <summary>snapshots, ls, diff, find, cat and stats: what a user sees of what is stored.</summary>
public sealed class BrowseCommandTests(TwoSnapshotRepository repo) : IClassFixture<TwoSnapshotRepository>
{
    private CliRunner Cli => repo.Workspace.Cli;
    private string Src => repo.Tree.Root;

    [Fact]
    public void Snapshots_json_is_one_array_of_every_snapshot_oldest_first()
    {
        var result = Cli.Run("snapshots", "--json").ShouldSucceed();

        var array = Assert.IsType<JsonArray>(result.Json);
        Assert.Equal([repo.First, repo.Second], array.Select(s => (string)s!["id"]!));
        foreach (var s in array)
        {
            Assert.Equal([Src], s!["paths"]!.AsArray().Select(p => (string)p!));
            Assert.False(string.IsNullOrEmpty((string?)s["time"]));
            Assert.Matches("^[0-9a-f]{64}$", (string)s["tree"]!);
        }
    }

    [Fact]
    public void Snapshots_text_lists_short_ids()
    {
        var result = Cli.Run("snapshots").ShouldSucceed();
        Assert.Contains(repo.First[..8], result.StdOut);
        Assert.Contains(repo.Second[..8], result.StdOut);
        Assert.Contains("2 snapshots", result.StdOut);
    }

    [Fact]
    public void Ls_lists_every_path_of_a_snapshot_by_id_prefix_or_latest()
    {
        var first = Cli.Run("ls", repo.First[..8]).ShouldSucceed().StdOutLines.ToHashSet();
        Assert.Contains(Src + "/docs/report-2023.txt", first);
        Assert.DoesNotContain(Src + "/docs/report-2024.txt", first);
        Assert.Contains(Src + "/bin/random.bin", first);

        var latest = Cli.Run("ls", "latest").ShouldSucceed().StdOutLines.ToHashSet();
        Assert.Contains(Src + "/docs/report-2024.txt", latest);
        Assert.DoesNotContain(Src + "/docs/report-2023.txt", latest);
    }

    [Fact]
    public void Ls_of_a_folder_with_long_format_shows_sizes_and_link_targets()
    {
        var result = Cli.Run("ls", "latest", Src + "/docs", "--long").ShouldSucceed();

        var lines = result.StdOutLines.Where(l => l.EndsWith("keep.txt", StringComparison.Ordinal) || l.Contains(Src + "/docs/", StringComparison.Ordinal)).Where(l => !l.StartsWith("snapshot ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Contains(lines, l => l.StartsWith("lrwxrwxrwx", StringComparison.Ordinal) && l.EndsWith("/docs/link -> keep.txt", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("-rw", StringComparison.Ordinal) && l.Contains(" 18 ", StringComparison.Ordinal) && l.EndsWith("/docs/keep.txt", StringComparison.Ordinal));
    }

    [Fact]
    public void Ls_json_gives_type_size_and_mode_per_entry()
    {
        var entries = Cli.Run("ls", "latest", "--json").ShouldSucceed().JsonObjects.ToDictionary(o => (string)o["path"]!);

        var random = entries[Src + "/bin/random.bin"];
        Assert.Equal("file", (string)random["type"]!);
        Assert.Equal(1_000_000, (long)random["size"]!);
        Assert.Equal("symlink", (string)entries[Src + "/docs/link"]["type"]!);
        Assert.Equal("keep.txt", (string)entries[Src + "/docs/link"]["link_target"]!);
        Assert.Equal("dir", (string)entries[Src + "/docs"]["type"]!);
    }

    [Fact]
    public void Diff_marks_added_removed_and_modified_paths()
    {
        var result = Cli.Run("diff", repo.First, repo.Second).ShouldSucceed();

        var changes = result.StdOutLines.Where(l => l.Length > 2 && "+-MTU".Contains(l[0]) && l[1] == ' ').ToList();
        Assert.Contains($"+    {Src}/docs/report-2024.txt", changes);
        Assert.Contains($"-    {Src}/docs/report-2023.txt", changes);
        Assert.Contains($"M    {Src}/docs/keep.txt", changes);
        Assert.Equal(3, changes.Count);
    }

    [Fact]
    public void Diff_json_counts_changes()
    {
        var stats = Cli.Run("diff", repo.First[..6], "latest", "--json").ShouldSucceed().JsonObjects
            .Single(o => (string?)o["message_type"] == "statistics");
        Assert.Equal(1, (long)stats["added"]!);
        Assert.Equal(1, (long)stats["removed"]!);
        Assert.Equal(1, (long)stats["modified"]!);
    }

    [Fact]
    public void Find_searches_every_snapshot()
    {
        var result = Cli.Run("find", "report-*", "--json").ShouldSucceed();

        var bySnapshot = result.JsonObjects.ToDictionary(o => (string)o["snapshot"]!, o => o["matches"]!.AsArray().Select(m => (string)m!["path"]!).ToList());
        Assert.Equal([Src + "/docs/report-2023.txt"], bySnapshot[repo.First]);
        Assert.Equal([Src + "/docs/report-2024.txt"], bySnapshot[repo.Second]);

        var text = Cli.Run("find", "*.bin").ShouldSucceed();
        Assert.Contains(repo.First[..8], text.StdOut);
        Assert.Contains(repo.Second[..8], text.StdOut);
        Assert.Contains(Src + "/bin/copy.bin", text.StdOut);

        var none = Cli.Run("find", "no-such-name").ShouldSucceed();
        Assert.Contains("no matches", none.StdOut);
    }

    [Fact]
    public void Cat_config_shows_the_chunker_parameters()
    {
        var config = JsonNode.Parse(Cli.Run("cat", "config").ShouldSucceed().StdOut)!;
        Assert.Contains("chunker", config.ToJsonString());
        Assert.DoesNotContain("password", config.ToJsonString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Cat_snapshot_latest_shows_the_snapshot_document()
    {
        var snapshot = JsonNode.Parse(Cli.Run("cat", "snapshot", "latest").ShouldSucceed().StdOut)!;
        Assert.Equal([Src], snapshot["paths"]!.AsArray().Select(p => (string)p!));
        Assert.Matches("^[0-9a-f]{64}$", (string)snapshot["tree"]!);
        var listed = Assert.IsType<JsonArray>(Cli.Run("snapshots", "--json").ShouldSucceed().Json);
        Assert.Equal((string)listed.Last()!["tree"]!, (string)snapshot["tree"]!);
    }

    [Fact]
    public void Stats_json_reports_logical_and_stored_sizes_and_ratios()
    {
        var stats = Cli.Run("stats", "--json").ShouldSucceed().JsonObjects.Single();

        long logical = (long)stats["total_size"]!;
        long stored = (long)stats["stored_bytes"]!;
        double dedup = (double)stats["deduplication_ratio"]!;
        double compression = (double)stats["compression_ratio"]!;
        // Two snapshots of 2.4 MB of which 1 MB random is stored once (copy.bin duplicates random.bin) and the log compresses.
        long oneTree = Directory.EnumerateFiles(Src, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.InRange(logical, 2 * oneTree - 100, 2 * oneTree + 100);
        Assert.InRange(stored, 1_000_000, oneTree);
        Assert.True(dedup > 2.5, $"deduplication ratio {dedup}: {stats.ToJsonString()}");
        Assert.True(compression > 1.1, $"compression ratio {compression}: {stats.ToJsonString()}");
    }

    [Fact]
    public void Unknown_snapshot_id_is_one_clear_line_and_exit_1()
    {
        var result = Cli.Run("ls", "abcdef12").ShouldExitWith(1).ShouldNotShowStackTrace();
        var line = Assert.Single(result.StdErrLines);
        Assert.Contains("abcdef12", line);

        var restore = Cli.Run("restore", "0000ffff", "--target", repo.Workspace.PathOf("nowhere")).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("0000ffff", Assert.Single(restore.StdErrLines));
        Assert.False(Directory.Exists(repo.Workspace.PathOf("nowhere")) && Directory.EnumerateFileSystemEntries(repo.Workspace.PathOf("nowhere")).Any());
    }
}
