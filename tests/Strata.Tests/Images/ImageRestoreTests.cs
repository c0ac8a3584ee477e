using Strata.Tests.TestSupport;
using static Strata.Tests.Images.ImageWorkspace;

namespace Strata.Tests.Images;

/// <summary>Full restores: blocks are gathered into runs and written past the page cache; the result is exact whatever the block size.</summary>
public sealed class ImageRestoreTests
{
    [Theory]
    [InlineData(4096)]
    [InlineData(65536)]
    [InlineData(4 << 20)]
    public async Task A_full_restore_of_runs_holes_zero_blocks_and_an_odd_tail_is_exact(int blockSize)
    {
        await using var ws = await CreateAsync();
        // Data runs longer than one write (3 MiB), single blocks, a block of zeros inside data, a hole, and a tail of 777 bytes.
        var data = TestData.RandomBytes(3 * (int)MiB, seed: 1);
        Array.Clear(data, (int)MiB, 65536);
        var disk = ws.RawDisk("disk.raw", 9 * MiB + 777,
            (0, data), (5 * MiB + 12345, TestData.RandomBytes(1000, seed: 2)), (9 * MiB, TestData.RandomBytes(777, seed: 3)));
        var backup = await ws.BackupAsync(disk, blockSize: blockSize);

        var target = ws.PathOf("restored.raw");
        var restore = await ws.RestoreAsync(backup.Snapshot, target);

        Assert.Equal(File.ReadAllBytes(disk), File.ReadAllBytes(target));
        Assert.Equal(restore.BytesWritten, await CountWrittenAsync(ws, backup));
    }

    /// <summary>What a restore must write: every non-zero block, at its length.</summary>
    private static async Task<long> CountWrittenAsync(ImageWorkspace ws, Strata.Images.ImageBackupResult backup)
    {
        var map = await Strata.Images.ImageSnapshots.LoadMapAsync(ws.Repo, backup.Snapshot, default);
        long total = 0;
        for (int b = 0; b < map.BlockCount; b++)
            if (!map.Blocks[b].IsZero) total += map.LengthOf(b);
        return total;
    }
}
