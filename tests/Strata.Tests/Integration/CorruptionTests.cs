using System.Text.Json.Nodes;
using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Integration;

/// <summary>
/// Damage to stored data is found and attributed: <c>check</c> names the damaged or missing pack and
/// exactly the snapshots that need it; snapshots that do not need it stay restorable.
/// </summary>
public sealed class CorruptionTests : IDisposable
{
    private readonly CliWorkspace _ws = new("corruption");

    public void Dispose() => _ws.Dispose();

    /// <summary>Two snapshots of unrelated trees; returns their ids and the data pack only the first one wrote.</summary>
    private (string First, string Second, string FirstPack, TreeBuilder SecondTree) TwoIndependentSnapshots()
    {
        var one = _ws.Tree("one").RandomFile("data.bin", 2_000_000, seed: 1).TextFile("notes.txt", 100_000, seed: 1);
        var two = _ws.Tree("two").RandomFile("data.bin", 2_000_000, seed: 2).TextFile("notes.txt", 100_000, seed: 2);
        _ws.Init();
        var first = (string)_ws.Backup(one.Root)["snapshot_id"]!;
        var firstPacks = _ws.PackNames();
        var second = (string)_ws.Backup(two.Root)["snapshot_id"]!;
        Assert.Equal(2, firstPacks.Count); // one data pack, one tree pack
        Assert.Equal(4, _ws.PackNames().Count);
        return (first, second, _ws.LargestPack(firstPacks), two);
    }

    [Fact]
    public void Check_read_data_finds_a_flipped_byte_and_names_the_pack_and_the_affected_snapshot()
    {
        var (first, second, pack, two) = TwoIndependentSnapshots();
        var path = _ws.PackPath(pack);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var result = _ws.Cli.Run("check", "--read-data").ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains(pack[..8], result.StdOut);
        Assert.Contains(first[..8], result.StdOut);
        Assert.DoesNotContain(second[..8], result.StdOut);

        var json = _ws.Cli.Run("check", "--read-data", "--json").ShouldExitWith(1).Summary;
        Assert.False((bool)json["ok"]!);
        Assert.Contains(json["damaged_packs"]!.AsArray(), p => ((string)p!).StartsWith(pack, StringComparison.Ordinal));
        Assert.Equal([first], json["affected_snapshots"]!.AsArray().Select(s => (string)s!["id"]!));

        // The other snapshot does not need the damaged pack: it restores exactly.
        _ws.Cli.Run("restore", second, "--target", _ws.PathOf("out")).ShouldSucceed();
        TreeComparison.AssertSame(two.Root, CliWorkspace.Restored(_ws.PathOf("out"), two.Root));
        // And the damaged one fails loudly rather than restoring wrong bytes.
        var damaged = _ws.Cli.Run("restore", first, "--target", _ws.PathOf("out-damaged"));
        Assert.NotEqual(0, damaged.ExitCode);
        damaged.ShouldNotShowStackTrace();
    }

    [Fact]
    public void Check_reports_a_missing_pack_and_names_the_affected_snapshot_without_reading_data()
    {
        var (first, second, pack, _) = TwoIndependentSnapshots();
        File.Delete(_ws.PackPath(pack));

        var result = _ws.Cli.Run("check").ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains("missing", result.StdOut);
        Assert.Contains(pack[..8], result.StdOut);
        Assert.Contains(first[..8], result.StdOut);
        Assert.DoesNotContain(second[..8], result.StdOut);
        var json = _ws.Cli.Run("check", "--json").ShouldExitWith(1).Summary;
        Assert.Equal([first], json["affected_snapshots"]!.AsArray().Select(s => (string)s!["id"]!));
    }

    [Fact]
    public void Check_of_a_healthy_repository_passes_with_and_without_reading_data()
    {
        TwoIndependentSnapshots();

        _ws.Cli.Run("check").ShouldSucceed();
        var json = _ws.Cli.Run("check", "--read-data", "--json").ShouldSucceed().Summary;

        Assert.True((bool)json["ok"]!);
        Assert.Equal(2, (long)json["snapshots"]!);
        Assert.Empty(json["errors"]!.AsArray());
        Assert.True((long)json["bytes_read"]! > 4_000_000);
    }
}
