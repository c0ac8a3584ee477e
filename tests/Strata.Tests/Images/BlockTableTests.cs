using Strata.Images;
using Strata.Repository;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Images;

public sealed class BlockTableTests
{
    private const int PerSegment = BlockMapFormat.BlocksPerSegment;

    private static BlobId Id(int n) { var bytes = new byte[32]; BitConverter.TryWriteBytes(bytes, n); bytes[31] = 1; return new BlobId(bytes); }

    [Fact]
    public void Blocks_read_back_what_was_set_and_unset_blocks_are_zero()
    {
        var table = new BlockTable(3 * PerSegment + 10);
        table[5] = Id(5);
        table[3 * PerSegment + 9] = Id(9);
        Assert.Equal(Id(5), table[5]);
        Assert.Equal(Id(9), table[3 * PerSegment + 9]);
        Assert.True(table[6].IsZero);
        Assert.True(table.IsZeroSegment(1));
        Assert.Equal([(5, Id(5)), (3 * PerSegment + 9, Id(9))], table.DataBlocks().ToArray());
        Assert.Equal(3 * PerSegment + 10, table.Count());
        Assert.Throws<IndexOutOfRangeException>(() => table[3 * PerSegment + 10]);
    }

    [Fact]
    public void A_copy_shares_segments_until_either_side_writes()
    {
        var parent = new BlockTable(2 * PerSegment);
        parent[1] = Id(1);
        parent[PerSegment + 1] = Id(2);
        var child = new BlockTable(2 * PerSegment);
        child.CopyFrom(parent);
        Assert.True(child.SharesSegment(parent, 0));

        child[1] = Id(10);
        parent[PerSegment + 1] = Id(20);

        Assert.Equal(Id(1), parent[1]);
        Assert.Equal(Id(10), child[1]);
        Assert.Equal(Id(2), child[PerSegment + 1]);
        Assert.Equal(Id(20), parent[PerSegment + 1]);
        Assert.False(child.SharesSegment(parent, 0));
    }

    [Fact]
    public void Writes_from_many_threads_into_shared_segments_never_reach_the_other_table()
    {
        var parent = new BlockTable(4 * PerSegment);
        for (int b = 0; b < parent.Length; b++) parent[b] = Id(b + 1);
        var child = new BlockTable(4 * PerSegment);
        child.CopyFrom(parent);

        Parallel.For(0, child.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, b => { if (b % 3 == 0) child[b] = Id(-b - 1); });

        for (int b = 0; b < parent.Length; b++)
        {
            Assert.Equal(Id(b + 1), parent[b]);
            Assert.Equal(b % 3 == 0 ? Id(-b - 1) : Id(b + 1), child[b]);
        }
    }

    [Fact]
    public void A_copy_into_a_grown_or_shrunk_table_keeps_the_overlapping_blocks()
    {
        var parent = new BlockTable(PerSegment + 5);
        parent[PerSegment + 4] = Id(4);
        var grown = new BlockTable(PerSegment + 50);
        grown.CopyFrom(parent);
        Assert.Equal(Id(4), grown[PerSegment + 4]);
        Assert.True(grown[PerSegment + 49].IsZero);

        var shrunk = new BlockTable(PerSegment + 2);
        shrunk.CopyFrom(grown);
        Assert.True(shrunk.IsZeroSegment(1));
    }

    [Fact]
    public void A_segment_remembers_its_stored_id_only_until_a_block_in_it_changes()
    {
        var table = new BlockTable(2 * PerSegment);
        table.LoadSegment(0, Enumerable.Range(0, PerSegment).Select(i => i == 7 ? Id(7) : default).ToArray(), Id(100));
        table.LoadSegment(1, new BlobId[PerSegment], Id(200));
        Assert.Equal(Id(100), table.StoredId(0));
        var other = new BlockTable(2 * PerSegment);
        other.LoadSegment(0, table.Segment(0), Id(100));
        Assert.True(other.SharesSegment(table, 0)); // loaded from the same stored segment
        Assert.True(table.IsZeroSegment(1)); // all zero: no array kept
        Assert.Equal(Id(200), table.StoredId(1));

        table[8] = Id(8);
        Assert.Null(table.StoredId(0));
        Assert.False(other.SharesSegment(table, 0));
        Assert.Equal(Id(200), table.StoredId(1));
    }

    [Fact]
    public async Task A_saved_map_loads_back_equal_and_an_unchanged_copy_saves_to_the_same_root()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var map = new BlockMap(5L * PerSegment * 65536 + 4096, 65536);
        map.Blocks[3] = Id(3);
        map.Blocks[4 * PerSegment] = Id(4);
        map.Blocks[map.BlockCount - 1] = Id(5);
        BlobId root;
        await using (var writer = new BlobWriter(repo))
        {
            root = BlockMapStore.Save(writer, map);
            await writer.FlushAsync();
        }

        var loaded = await BlockMapStore.LoadAsync(repo, root);
        Assert.Equal(map.Blocks.ToArray(), loaded.Blocks.ToArray());
        Assert.True(loaded.Blocks.IsZeroSegment(2));
        var copy = new BlockMap(loaded.ImageSize, loaded.BlockSize);
        copy.Blocks.CopyFrom(loaded.Blocks);
        Assert.Empty(copy.Difference(loaded).Blocks());
        await using (var writer = new BlobWriter(repo))
        {
            Assert.Equal(root, BlockMapStore.Save(writer, copy));
            copy.Blocks[1] = Id(1);
            Assert.NotEqual(root, BlockMapStore.Save(writer, copy));
            Assert.Equal([1], copy.Difference(loaded).Blocks().ToArray());
        }
    }
}
