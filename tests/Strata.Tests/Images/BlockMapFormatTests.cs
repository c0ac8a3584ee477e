using Strata.Errors;
using Strata.Images;
using Strata.Repository;

namespace Strata.Tests.Images;

public sealed class BlockMapFormatTests
{
    private static BlobId Id(byte b) { var bytes = new byte[32]; bytes[0] = b; bytes[31] = 1; return new BlobId(bytes); }

    [Fact]
    public void Segments_round_trip_including_zero_blocks()
    {
        BlobId[] blocks = [Id(1), default, Id(2), Id(1)];
        var decoded = new BlobId[4];
        BlockMapFormat.DecodeSegment(BlockMapFormat.EncodeSegment(blocks), decoded, "seg");
        Assert.Equal(blocks, decoded);
        Assert.True(decoded[1].IsZero);
    }

    [Fact]
    public void Root_round_trips_and_knows_how_many_segments_an_image_needs()
    {
        long size = 3L * BlockMapFormat.BlocksPerSegment * 65536 + 100;
        var segments = Enumerable.Range(1, 4).Select(i => Id((byte)i)).ToArray();
        var root = BlockMapFormat.DecodeRoot(BlockMapFormat.EncodeRoot(65536, size, segments), "root");
        Assert.Equal(65536, root.BlockSize);
        Assert.Equal(size, root.ImageSize);
        Assert.Equal(segments, root.Segments);
    }

    [Fact]
    public void A_root_whose_segment_count_does_not_fit_the_size_is_corrupt()
    {
        var bytes = BlockMapFormat.EncodeRoot(65536, 10L * BlockMapFormat.BlocksPerSegment * 65536, [Id(1)]);
        Assert.Throws<CorruptDataException>(() => BlockMapFormat.DecodeRoot(bytes, "root"));
    }

    [Fact]
    public void A_newer_version_is_refused_by_name()
    {
        var bytes = BlockMapFormat.EncodeRoot(65536, 65536, [Id(1)]);
        bytes[4] = 2;
        var e = Assert.Throws<CorruptDataException>(() => BlockMapFormat.DecodeRoot(bytes, "root"));
        Assert.Contains("version 2 is not supported", e.Message);
    }

    [Fact]
    public void A_tree_is_not_a_block_map()
    {
        var e = Assert.Throws<CorruptDataException>(() => BlockMapFormat.DecodeRoot("{\"nodes\":[]}"u8, "root"));
        Assert.Contains("not a block map", e.Message);
    }

    [Fact]
    public void Changed_extent_lists_round_trip_and_reject_disorder()
    {
        List<ImageExtent> extents = [new(0, 65536), new(1 << 20, 131072)];
        Assert.Equal(extents, ChangedExtentList.Decode(ChangedExtentList.Encode(extents), "x"));
        Assert.Throws<CorruptDataException>(() => ChangedExtentList.Decode(ChangedExtentList.Encode([new(1 << 20, 10), new(0, 10)]), "x"));
    }

    [Fact]
    public void Block_sets_turn_into_merged_extents_with_a_short_last_block()
    {
        var set = new BlockSet(10);
        set.AddBytes(new ImageExtent(4096, 1), 4096);        // block 1
        set.AddBytes(new ImageExtent(8192, 8192), 4096);     // blocks 2, 3
        set.Add(9);
        Assert.Equal(4, set.Count);
        Assert.Equal([new ImageExtent(4096, 12288), new ImageExtent(9 * 4096, 100)], set.ToExtents(4096, 9 * 4096 + 100));
    }

    [Fact]
    public void Block_maps_differ_exactly_where_block_ids_differ()
    {
        var a = new BlockMap(5 * 65536, 65536);
        var b = new BlockMap(5 * 65536, 65536);
        a.Blocks[1] = Id(1); b.Blocks[1] = Id(1);
        a.Blocks[3] = Id(2); b.Blocks[3] = Id(3);
        b.Blocks[4] = Id(4);
        Assert.Equal([3, 4], a.Difference(b).Blocks().ToArray());
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(3 << 10)]
    [InlineData(8 << 20)]
    public void Block_sizes_outside_4K_to_4M_or_not_powers_of_two_are_refused(int size) =>
        Assert.Throws<UsageException>(() => BlockMap.ValidateBlockSize(size));
}
