using System.Text.Json.Nodes;
using Strata.Tests.Images;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>The 'strata image' commands and how the other commands treat image snapshots, through the real CLI.</summary>
public sealed class ImageCommandTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly CliWorkspace _ws = new("image-cli");

    public ImageCommandTests() => _ws.Init();

    public void Dispose() => _ws.Dispose();

    private string Disk(string name, long size, params (long Offset, byte[] Data)[] writes) => RawDisks.Create(_ws.PathOf(name), size, writes);

    [Fact]
    public void Backup_and_restore_print_the_json_summaries_the_issue_names()
    {
        var disk = Disk("d.raw", 32 * MiB, (MiB, TestData.RandomBytes(1 << 20)));
        var backup = _ws.Cli.Run("image", "backup", disk, "--json").ShouldSucceed().Summary;
        foreach (var field in new[] { "snapshot_id", "bytes_total", "bytes_read", "bytes_changed", "data_added", "total_duration" })
            Assert.NotNull(backup[field]);
        Assert.Equal(32 * MiB, (long)backup["bytes_total"]!);
        Assert.Equal(MiB, (long)backup["bytes_read"]!);

        var target = _ws.PathOf("r.raw");
        var restore = _ws.Cli.Run("image", "restore", (string)backup["snapshot_id"]!, "--target", target, "--json").ShouldSucceed().Summary;
        foreach (var field in new[] { "bytes_fetched", "bytes_written", "total_duration" })
            Assert.NotNull(restore[field]);
        Assert.Equal(MiB, (long)restore["bytes_written"]!);
        Assert.Equal(File.ReadAllBytes(disk), File.ReadAllBytes(target));

        var again = _ws.Cli.Run("image", "restore", "latest", "--target", target, "--incremental", "--json").ShouldSucceed().Summary;
        Assert.Equal(0, (long)again["bytes_fetched"]!);
        Assert.Equal("incremental-hash", (string)again["mode"]!);
    }

    [Fact]
    public void Ls_diff_and_verify_describe_recovery_points()
    {
        var disk = Disk("d.raw", 16 * MiB, (0, TestData.RandomBytes(2 << 20)));
        var first = (string)_ws.Cli.Run("image", "backup", disk, "--name", "web", "--json").ShouldSucceed().Summary["snapshot_id"]!;
        using (var f = new FileStream(disk, FileMode.Open)) { f.Position = 5 * MiB; f.Write(TestData.RandomBytes(10, seed: 2)); }
        var second = (string)_ws.Cli.Run("image", "backup", disk, "--name", "web", "--json").ShouldSucceed().Summary["snapshot_id"]!;

        var list = _ws.Cli.Run("image", "ls", "--json").ShouldSucceed().Json.AsArray();
        Assert.Equal(2, list.Count);
        Assert.Equal("image", (string)list[1]!["kind"]!);
        Assert.Equal("web", (string)list[1]!["image"]!["name"]!);

        var diff = _ws.Cli.Run("image", "diff", first, second, "--json").ShouldSucceed().Summary;
        Assert.Equal(65536, (long)diff["bytes_changed"]!);
        Assert.Equal(5 * MiB, (long)diff["changed_extents"]![0]!["offset"]!);

        _ws.Cli.Run("image", "verify", second).ShouldSucceed();
        _ws.Cli.Run("image", "verify", second, "--target", disk).ShouldSucceed();
        var differs = _ws.Cli.Run("image", "verify", first, "--target", disk, "--json").ShouldExitWith(1).Summary;
        Assert.Equal(65536, (long)differs["bytes_differing"]!);
        Assert.Contains(_ws.Cli.Run("snapshots").ShouldSucceed().StdOutLines, l => l.Contains("16.00 MiB"));

        // Another disk backed up later: 'latest' still means web's latest where the command knows the disk.
        _ws.Cli.Run("image", "backup", Disk("other.raw", MiB, (0, TestData.RandomBytes(4096, seed: 3))), "--name", "other").ShouldSucceed();
        Assert.Equal(65536, (long)_ws.Cli.Run("image", "diff", first, "latest", "--json").ShouldSucceed().Summary["bytes_changed"]!);
        _ws.Cli.Run("image", "verify", "latest", "--name", "web", "--target", disk).ShouldSucceed();
        _ws.Cli.Run("image", "verify", "latest", "--target", disk).ShouldExitWith(1);
    }

    [Fact]
    public void File_commands_point_to_the_image_commands()
    {
        var disk = Disk("d.raw", MiB, (0, new byte[] { 1 }));
        var id = (string)_ws.Cli.Run("image", "backup", disk, "--json").ShouldSucceed().Summary["snapshot_id"]!;
        var restore = _ws.Cli.Run("restore", id, "--target", _ws.PathOf("t")).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("use 'strata image restore'", restore.StdErr);
        Assert.False(Directory.Exists(_ws.PathOf("t")));
        Assert.Contains("use 'strata image ls'", _ws.Cli.Run("ls", id).ShouldExitWith(1).StdErr);
        Assert.Contains("use 'strata image diff'", _ws.Cli.Run("diff", id, id).ShouldExitWith(1).StdErr);
        _ws.Cli.Run("find", "*").ShouldSucceed();
        _ws.Cli.Run("stats").ShouldSucceed();
        _ws.Tree("files").File("a.txt", "hello");
        var fileSnapshot = (string)_ws.Backup(_ws.PathOf("files"))["snapshot_id"]!;
        Assert.Contains("is a file snapshot", _ws.Cli.Run("image", "restore", fileSnapshot, "--target", _ws.PathOf("x.raw")).ShouldExitWith(1).StdErr);
        Assert.Contains("is a file snapshot", _ws.Cli.Run("image", "verify", fileSnapshot).ShouldExitWith(1).StdErr);
        Assert.False(File.Exists(_ws.PathOf("x.raw")));
    }

    [Fact]
    public void Check_verifies_block_map_references_and_names_the_damaged_offsets()
    {
        var disk = Disk("d.raw", 8 * MiB, (3 * MiB, TestData.RandomBytes(1 << 20)));
        _ws.Cli.Run("image", "backup", disk).ShouldSucceed();
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        foreach (var pack in _ws.PackNames()) File.Delete(_ws.PackPath(pack));
        var check = _ws.Cli.Run("check").ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("block map", check.StdOut + check.StdErr);
    }

    [Fact]
    public void Bad_arguments_get_one_line_errors()
    {
        var disk = Disk("d.raw", MiB);
        Assert.Contains("qemu-bitmap:NAME", _ws.Cli.Run("image", "backup", disk, "--cbt", "vmware:x").ShouldExitWith(1).ShouldNotShowStackTrace().StdErr);
        Assert.Contains("block size", _ws.Cli.Run("image", "backup", disk, "--block-size", "3K").ShouldExitWith(1).StdErr);
        Assert.Contains("does not exist", _ws.Cli.Run("image", "backup", _ws.PathOf("nope.raw")).ShouldExitWith(1).StdErr);
        Assert.Contains("cannot connect", _ws.Cli.Run("image", "backup", $"nbd+unix:///?socket={_ws.PathOf("none.sock")}").ShouldExitWith(1).ShouldNotShowStackTrace().StdErr);
        Assert.Contains("no image snapshots", _ws.Cli.Run("image", "restore", "latest", "--target", _ws.PathOf("x.raw")).ShouldExitWith(1).StdErr);
        _ws.Cli.Run("image", "backup", disk).ShouldSucceed();
        var noFolder = _ws.Cli.Run("image", "restore", "latest", "--target", _ws.PathOf("missing", "x.raw")).ShouldExitWith(1).StdErr;
        Assert.Contains($"directory {_ws.PathOf("missing")} does not exist", noFolder);
    }
}
