using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Mount;

/// <summary>Image snapshots in the mount: one file per image, readable at any offset through the block map.</summary>
public sealed class ImageMountTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly CliWorkspace _ws = new("mount-image");

    public void Dispose() => _ws.Dispose();

    private string Disk(string name, long size, params (long Offset, byte[] Data)[] writes) => RawDisks.Create(_ws.PathOf(name), size, writes);

    [FuseFact]
    public void An_image_snapshot_is_a_file_with_the_disks_bytes_at_every_offset()
    {
        _ws.Init();
        // Data at unaligned places, a 12 MiB hole, and a size that is not a multiple of the block size.
        var disk = Disk("d.raw", 40 * MiB + 12345,
            (0, TestData.RandomBytes(3 * (int)MiB, seed: 1)),
            (20 * MiB + 777, TestData.RandomBytes(100_000, seed: 2)),
            (40 * MiB, TestData.RandomBytes(12345, seed: 3)));
        var id = (string)_ws.Cli.Run("image", "backup", disk, "--name", "web", "--json").ShouldSucceed().Summary["snapshot_id"]!;
        var tree = _ws.Tree("src");
        tree.File("a.txt", "files too");
        _ws.Backup(tree.Root);

        using var mount = MountSession.Start(_ws, _ws.PathOf("mnt"));
        var image = mount.PathOf("snapshots", id[..8], "web.img");

        Assert.Equal(["web.img"], Directory.EnumerateFileSystemEntries(mount.PathOf("snapshots", id[..8])).Select(Path.GetFileName));
        var expected = File.ReadAllBytes(disk);
        Assert.Equal(expected.Length, new FileInfo(image).Length);
        Assert.Equal(TreeComparison.HashFile(disk), TreeComparison.HashFile(image));
        var (code, output) = CliWorkspace.RunTool("cmp", disk, image);
        Assert.True(code == 0, output);

        var random = new Random(5);
        using var handle = File.OpenHandle(image);
        for (int i = 0; i < 300; i++)
        {
            long offset = random.NextInt64(expected.Length);
            var buffer = new byte[random.Next(1, 300_000)];
            int n = RandomAccess.Read(handle, buffer, offset);
            Assert.True(n > 0);
            Assert.True(expected.AsSpan((int)offset, n).SequenceEqual(buffer.AsSpan(0, n)), $"bytes at {offset} (+{n}) differ");
        }
        Assert.Equal("files too", File.ReadAllText(mount.Latest(tree.Root) + "/a.txt"));
    }

    [Fact]
    public void Dump_refuses_an_image_snapshot_by_name()
    {
        _ws.Init();
        var disk = Disk("d.raw", 4 * MiB, (0, TestData.RandomBytes(100_000)));
        var id = (string)_ws.Cli.Run("image", "backup", disk, "--json").ShouldSucceed().Summary["snapshot_id"]!;

        var result = _ws.Cli.Run("dump", id[..8], "-o", _ws.PathOf("x.tar"));

        result.ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("disk image", result.StdErr);
    }
}
