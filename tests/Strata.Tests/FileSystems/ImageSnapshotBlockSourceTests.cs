using Strata.FileSystems;
using Strata.Tests.Images;
using Strata.Tests.TestSupport;

namespace Strata.Tests.FileSystems;

public sealed class ImageSnapshotBlockSourceTests
{
    [Fact]
    public async Task Reads_at_any_offset_and_length_equal_the_backed_up_disk()
    {
        await using var ws = await ImageWorkspace.CreateAsync();
        var content = TestData.RandomBytes(3 << 20);
        string disk = ws.RawDisk("d.raw", 8 << 20, (1 << 20, content));
        var backup = await ws.BackupAsync(disk, blockSize: 64 << 10);
        await ws.Repo.LoadIndexAsync();
        var source = await ImageSnapshotBlockSource.OpenAsync(ws.Repo, backup.Snapshot, default);
        byte[] expected = File.ReadAllBytes(disk);
        Assert.Equal(expected.Length, source.Length);

        var random = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            long offset = random.NextInt64(expected.Length);
            int length = (int)Math.Min(expected.Length - offset, random.Next(1, i % 2 == 0 ? 5000 : 700_000));
            var buffer = new byte[length];
            await source.ReadAsync(offset, buffer, default);
            Assert.True(expected.AsSpan((int)offset, length).SequenceEqual(buffer), $"read {offset}+{length} differs");
        }
        // Zero blocks are never fetched.
        long fetched = source.BytesFetched;
        var zeros = new byte[1 << 20];
        await source.ReadAsync(6 << 20, zeros, default);
        Assert.Equal(fetched, source.BytesFetched);
        Assert.True(zeros.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        await Assert.ThrowsAsync<CorruptFileSystemException>(async () => await source.ReadAsync(expected.Length - 10, new byte[20], default));
    }
}
