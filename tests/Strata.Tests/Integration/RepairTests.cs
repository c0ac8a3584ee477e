using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Integration;

/// <summary>
/// After damage — a flipped byte in a pack, a deleted pack, a truncated index file — <c>check</c>
/// names it, <c>repair index</c> and <c>repair snapshots</c> salvage every intact file, and the
/// repository passes <c>check --read-data</c> again.
/// </summary>
public sealed class RepairTests : IDisposable
{
    private readonly CliWorkspace _ws = new("repair");

    public void Dispose() => _ws.Dispose();

    /// <summary>Sixty 200 KB files in 1 MiB packs: about a dozen packs, each holding a few files.</summary>
    private (TreeBuilder Tree, string Snapshot) Setup()
    {
        var tree = _ws.Tree("src");
        for (int i = 0; i < 60; i++) tree.RandomFile($"d{i % 3}/f{i:00}.bin", 200_000, seed: i);
        _ws.Cli.Run("init", "--pack-size", "1").ShouldSucceed();
        return (tree, (string)_ws.Backup(tree.Root)["snapshot_id"]!);
    }

    /// <summary>Restores the latest snapshot and returns the relative paths whose content differs from the source.</summary>
    private List<string> RestoreAndCompare(TreeBuilder tree)
    {
        var target = _ws.PathOf("out-" + Guid.NewGuid().ToString("N")[..6]);
        _ws.Cli.Run("restore", "latest", "--target", target).ShouldSucceed();
        var restored = CliWorkspace.Restored(target, tree.Root);
        var differing = new List<string>();
        foreach (var file in Directory.EnumerateFiles(tree.Root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(tree.Root, file);
            var copy = Path.Combine(restored, relative);
            if (!File.Exists(copy) || !File.ReadAllBytes(copy).AsSpan().SequenceEqual(File.ReadAllBytes(file))) differing.Add(relative);
        }
        return differing;
    }

    [Fact]
    public void A_flipped_byte_costs_only_the_file_it_hit()
    {
        var (tree, snapshot) = Setup();
        var pack = _ws.LargestPack();
        var path = _ws.PackPath(pack);
        var bytes = File.ReadAllBytes(path);
        bytes[1000] ^= 0x40; // inside the first blob
        File.WriteAllBytes(path, bytes);
        Assert.Contains(pack[..8], _ws.Cli.Run("check", "--read-data").ShouldExitWith(1).StdOut);

        var index = _ws.Cli.Run("repair", "index", "--read-all-packs", "--json").ShouldSucceed().Summary;
        Assert.Equal(1, (int)index["packs_damaged"]!);
        Assert.Equal(1, (int)index["blobs_lost"]!);
        Assert.True((int)index["blobs_salvaged"]! > 0);
        var repaired = _ws.Cli.Run("repair", "snapshots", "--forget", "--json").ShouldSucceed().JsonObjects.Single(o => (string?)o["message_type"] == "repaired_snapshot");
        Assert.Equal(snapshot, (string)repaired["original"]!);
        var lost = Assert.Single(repaired["lost_paths"]!.AsArray());

        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var differing = Assert.Single(RestoreAndCompare(tree));
        Assert.Contains(Path.GetFileName(differing), (string)lost!);
        var listing = _ws.Cli.Run("snapshots", "--json").ShouldSucceed().StdOut;
        Assert.Contains("repaired", listing);
    }

    [Fact]
    public void A_deleted_pack_costs_only_the_files_it_held()
    {
        var (tree, _) = Setup();
        File.Delete(_ws.PackPath(_ws.LargestPack()));
        _ws.Cli.Run("check").ShouldExitWith(1);

        var index = _ws.Cli.Run("repair", "index", "--json").ShouldSucceed().Summary;
        Assert.Equal(1, (int)index["index_entries_dropped"]!);
        var repaired = _ws.Cli.Run("repair", "snapshots", "--forget", "--json").ShouldSucceed().JsonObjects.Single(o => (string?)o["message_type"] == "repaired_snapshot");
        var lost = repaired["lost_paths"]!.AsArray().Select(p => (string)p!).ToList();
        Assert.NotEmpty(lost);

        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var differing = RestoreAndCompare(tree);
        Assert.NotEmpty(differing);
        Assert.True(differing.Count <= lost.Count, $"{differing.Count} files differ, {lost.Count} reported lost");
        Assert.All(differing, d => Assert.Contains(lost, l => l.Contains(Path.GetFileName(d), StringComparison.Ordinal)));
    }

    [Fact]
    public void A_truncated_index_file_is_rebuilt_from_the_packs_and_nothing_is_lost()
    {
        var (tree, _) = Setup();
        var indexFile = Directory.EnumerateFiles(Path.Combine(_ws.RepositoryPath, "index")).Single();
        var bytes = File.ReadAllBytes(indexFile);
        File.WriteAllBytes(indexFile, bytes[..(bytes.Length / 2)]);
        Assert.Contains("index file", _ws.Cli.Run("check").ShouldExitWith(1).StdOut);

        var index = _ws.Cli.Run("repair", "index", "--json").ShouldSucceed().Summary;
        Assert.Equal(_ws.PackNames().Count, (int)index["packs_added"]!);
        var repaired = _ws.Cli.Run("repair", "snapshots", "--json").ShouldSucceed();
        Assert.DoesNotContain(repaired.JsonObjects, o => (string?)o["message_type"] == "repaired_snapshot");

        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        Assert.Empty(RestoreAndCompare(tree));
    }

    [Fact]
    public void Read_data_subsets_cover_every_pack_exactly_once_and_percentages_read_a_share()
    {
        Setup();
        int packs = _ws.PackNames().Count;
        int total = 0;
        for (int n = 1; n <= 3; n++)
            total += (int)_ws.Cli.Run("check", "--read-data-subset", $"{n}/3", "--json").ShouldSucceed().Summary["packs_read"]!;
        Assert.Equal(packs, total);
        var share = (int)_ws.Cli.Run("check", "--read-data-subset", "50%", "--json").ShouldSucceed().Summary["packs_read"]!;
        Assert.Equal((int)Math.Ceiling(packs * 0.5), share);

        foreach (var bad in new[] { "0/3", "4/3", "x", "0%", "150%", "1/0" })
            Assert.Contains("--read-data-subset", _ws.Cli.Run("check", "--read-data-subset", bad).ShouldExitWith(1).StdErr);
    }
}
