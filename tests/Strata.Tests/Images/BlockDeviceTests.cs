using Strata.Errors;
using Strata.Snapshots;
using Strata.Tests.TestSupport;
using static Strata.Tests.Images.ImageWorkspace;

namespace Strata.Tests.Images;

/// <summary>Block devices (loop devices over files here) as sources and targets.</summary>
public sealed class BlockDeviceTests
{
    [Fact]
    public async Task A_block_device_is_backed_up_by_its_real_size_and_restored_onto_another_device()
    {
        await using var ws = await CreateAsync();
        var backing = ws.RawDisk("dev.raw", 24 * MiB, (MiB, TestData.RandomBytes(3 << 20, seed: 11)), (20 * MiB, TestData.RandomBytes(4096, seed: 12)));
        var targetBacking = ws.RawDisk("target.raw", 32 * MiB, (0, TestData.RandomBytes(8 << 20, seed: 13)));
        using var source = new LoopDevice(backing);
        using var target = new LoopDevice(targetBacking);

        var result = await ws.BackupAsync(source.Path, name: "dev");
        Assert.Equal(24 * MiB, result.Snapshot.Image!.Size);
        Assert.Equal("device", result.Snapshot.Image.SourceKind);

        await ws.RestoreAsync(result.Snapshot, target.Path);
        var restored = File.ReadAllBytes(targetBacking).AsSpan(0, (int)(24 * MiB)).ToArray();
        Assert.Equal(File.ReadAllBytes(backing), restored);

        // The device is larger than the image: incremental restore by hashing it finds nothing to do.
        var again = await ws.RestoreAsync(result.Snapshot, target.Path, incremental: true);
        Assert.Equal(0, again.BytesWritten + again.BytesZeroed);
    }

    [Fact]
    public async Task A_mounted_device_is_refused_as_a_restore_target_and_noted_when_backed_up()
    {
        await using var ws = await CreateAsync();
        var backing = ws.RawDisk("fs.raw", 16 * MiB);
        Qemu.Run("mkfs.ext4", "-q", "-F", backing);
        using var device = new LoopDevice(backing);
        var mountPoint = ws.PathOf("mnt");
        Directory.CreateDirectory(mountPoint);
        Qemu.Run("mount", device.Path, mountPoint);
        Snapshot snap;
        try
        {
            File.WriteAllText(Path.Combine(mountPoint, "live.txt"), "in use");
            snap = (await ws.BackupAsync(device.Path, name: "fs")).Snapshot;
            Assert.Contains(ws.Notes, n => n.Contains($"{device.Path} is in use") && n.Contains("consistent"));

            Qemu.Run("sync");
            var before = File.ReadAllBytes(backing);
            foreach (bool incremental in new[] { false, true })
            {
                var e = await Assert.ThrowsAsync<UsageException>(() => ws.RestoreAsync(snap, device.Path, incremental));
                Assert.Contains($"{device.Path} is in use", e.Message);
            }
            Assert.Equal(before, File.ReadAllBytes(backing));
        }
        finally
        {
            Qemu.Run("umount", mountPoint);
        }
        // Unmounted, it is Strata's to write.
        await ws.RestoreAsync(snap, device.Path);
    }

    private sealed class LoopDevice : IDisposable
    {
        public LoopDevice(string file) => Path = Qemu.Run("losetup", "--find", "--show", file).Trim();
        public string Path { get; }
        public void Dispose() => Qemu.Run("losetup", "--detach", Path);
    }
}
