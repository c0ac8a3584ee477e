using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Integration;

/// <summary>Prune and repair treat disk-image snapshots as they treat file snapshots: what they use stays, what is lost reads as zeros.</summary>
public sealed class ImageMaintenanceTests : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly CliWorkspace _ws = new("image-maintenance");

    public void Dispose() => _ws.Dispose();

    private string WriteDisk(string name, int seed)
    {
        var path = _ws.PathOf(name);
        using var f = new FileStream(path, FileMode.Create);
        f.SetLength(16 * MiB);
        for (int i = 0; i < 6; i++)
        {
            f.Position = i * 2L * MiB;
            f.Write(TestData.RandomBytes(MiB, seed: seed * 10 + i));
        }
        return path;
    }

    [Fact]
    public void Forget_prune_keeps_every_block_the_remaining_image_snapshot_uses()
    {
        _ws.Cli.Run("init", "--pack-size", "1").ShouldSucceed();
        var disk = WriteDisk("disk.raw", 1);
        _ws.Cli.Run("image", "backup", disk, "--json").ShouldSucceed();
        var expected = File.ReadAllBytes(WriteDisk("disk.raw", 2)); // every data block changes
        _ws.Cli.Run("image", "backup", disk, "--json").ShouldSucceed();
        long before = (long)_ws.Cli.Run("stats", "--json").ShouldSucceed().Json["stored_bytes"]!;

        var pruned = _ws.Cli.Run("forget", "--keep-last", "1", "--prune", "--json").ShouldSucceed().Summary;
        Assert.True((int)pruned["packs_deleted"]! > 0);
        long after = (long)_ws.Cli.Run("stats", "--json").ShouldSucceed().Json["stored_bytes"]!;
        Assert.True(before - after >= 5 * MiB, $"stored bytes went from {before} to {after}");

        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var target = _ws.PathOf("restored.raw");
        _ws.Cli.Run("image", "restore", "latest", "--target", target).ShouldSucceed();
        Assert.Equal(expected, File.ReadAllBytes(target));
    }

    [Fact]
    public void Repair_turns_lost_blocks_into_zeros_and_keeps_the_rest_of_the_image()
    {
        _ws.Cli.Run("init", "--pack-size", "1").ShouldSucceed();
        var disk = WriteDisk("disk.raw", 1);
        var original = File.ReadAllBytes(disk);
        _ws.Cli.Run("image", "backup", disk, "--json").ShouldSucceed();
        var pack = _ws.LargestPack();
        File.Delete(_ws.PackPath(pack));
        _ws.Cli.Run("check").ShouldExitWith(1);

        _ws.Cli.Run("repair", "index").ShouldSucceed();
        var repaired = _ws.Cli.Run("repair", "snapshots", "--forget", "--json").ShouldSucceed()
            .JsonObjects.Single(o => (string?)o["message_type"] == "repaired_snapshot");
        Assert.NotEmpty(repaired["lost_paths"]!.AsArray());
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();

        var target = _ws.PathOf("restored.raw");
        _ws.Cli.Run("image", "restore", "latest", "--target", target).ShouldSucceed();
        var restored = File.ReadAllBytes(target);
        Assert.Equal(original.Length, restored.Length);
        int kept = 0, zeroed = 0;
        for (int block = 0; block < original.Length / (64 << 10); block++)
        {
            var want = original.AsSpan(block * (64 << 10), 64 << 10);
            var got = restored.AsSpan(block * (64 << 10), 64 << 10);
            if (got.SequenceEqual(want)) kept++;
            else { Assert.True(got.IndexOfAnyExcept((byte)0) < 0, $"block {block} is neither intact nor zeros"); zeroed++; }
        }
        Assert.True(zeroed > 0 && kept > zeroed, $"{kept} blocks intact, {zeroed} zeroed");
    }

    [Fact]
    public void After_a_repair_the_next_cbt_backup_reads_the_whole_disk_so_the_lost_blocks_come_back()
    {
        _ws.Cli.Run("init", "--pack-size", "1").ShouldSucceed();
        var disk = _ws.PathOf("vm.qcow2");
        Images.Qemu.CreateQcow2(disk, 16 * MiB);
        Images.Qemu.AddBitmap(disk, "b");
        var chunk = _ws.PathOf("chunk");
        File.WriteAllBytes(chunk, TestData.RandomBytes(6 << 20, seed: 5));
        Images.Qemu.Run("qemu-io", "-f", "qcow2", "-c", $"write -q -s {chunk} 0 {6 * MiB}", disk);
        _ws.Cli.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b").ShouldSucceed();
        File.Delete(_ws.PackPath(_ws.LargestPack()));
        _ws.Cli.Run("repair", "index").ShouldSucceed();
        _ws.Cli.Run("repair", "snapshots", "--forget").ShouldSucceed();

        // The bitmap counts from the damaged snapshot; the repaired one has zeros where it lost data,
        // so it cannot stand in for it (a copy could): the disk is read whole and the backup is complete again.
        var next = _ws.Cli.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b", "--json").ShouldSucceed();
        Assert.False((bool)next.Summary["cbt_used"]!);
        Assert.Contains("counts from snapshot", next.StdErr);
        var target = _ws.PathOf("restored.raw");
        _ws.Cli.Run("image", "restore", "latest", "--target", target).ShouldSucceed();
        Assert.True(Images.Qemu.Identical(target, "raw", disk, "qcow2"), "the lost blocks did not come back");
    }
}
