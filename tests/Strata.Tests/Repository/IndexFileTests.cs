using System.Buffers.Binary;
using System.Security.Cryptography;
using Strata.Errors;
using Strata.Repository;

namespace Strata.Tests.Repository;

public class IndexFileTests
{
    private static BlobId RandomId() => new(RandomNumberGenerator.GetBytes(BlobId.Size));

    private static IndexFile Sample(int packs = 3, int entriesPerPack = 4)
    {
        var file = new IndexFile();
        for (int p = 0; p < packs; p++)
        {
            var entries = new List<PackEntry>();
            uint offset = 0;
            for (int i = 0; i < entriesPerPack; i++)
            {
                uint length = (uint)(100 + p * 10 + i);
                entries.Add(new PackEntry(i % 2 == 0 ? BlobType.Data : BlobType.Tree, RandomId(), offset, length, length * 3));
                offset += length;
            }
            file.Packs.Add((RandomId(), entries));
        }
        return file;
    }

    private static void AssertSame(IndexFile expected, IndexFile actual)
    {
        Assert.Equal(expected.Packs.Count, actual.Packs.Count);
        for (int p = 0; p < expected.Packs.Count; p++)
        {
            Assert.Equal(expected.Packs[p].Pack, actual.Packs[p].Pack);
            Assert.Equal(expected.Packs[p].Entries, actual.Packs[p].Entries);
        }
    }

    [Fact]
    public void An_index_file_decodes_to_what_was_encoded()
    {
        var file = Sample();

        AssertSame(file, IndexFile.Decode(file.Encode(), "index"));
    }

    [Fact]
    public void Extreme_field_values_survive_encoding()
    {
        var file = new IndexFile();
        file.Packs.Add((default, [new PackEntry(BlobType.Tree, default, uint.MaxValue, uint.MaxValue, uint.MaxValue)]));
        file.Packs.Add((RandomId(), []));

        AssertSame(file, IndexFile.Decode(file.Encode(), "index"));
    }

    [Fact]
    public void An_empty_index_file_round_trips()
    {
        var bytes = new IndexFile().Encode();

        Assert.Equal(9, bytes.Length);
        Assert.Empty(IndexFile.Decode(bytes, "index").Packs);
    }

    [Fact]
    public void The_encoding_starts_with_magic_and_version_and_has_fixed_size_entries()
    {
        var bytes = Sample(packs: 2, entriesPerPack: 3).Encode();

        Assert.Equal("SIDX"u8.ToArray(), bytes[..4]);
        Assert.Equal(1, bytes[4]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(5)));
        Assert.Equal(9 + 2 * (32 + 4 + 3 * 45), bytes.Length);
    }

    [Fact]
    public void A_truncated_index_file_is_reported_as_corrupt_data_at_every_length()
    {
        var bytes = Sample().Encode();

        for (int length = 0; length < bytes.Length; length++)
        {
            // Exactly this type, never IndexOutOfRange or ArgumentOutOfRange from reading past the end.
            var e = Record.Exception(() => IndexFile.Decode(bytes.AsSpan(0, length), "index/abc"));
            Assert.IsType<CorruptDataException>(e);
            Assert.Contains("index/abc", e.Message);
        }
    }

    [Fact]
    public void Trailing_bytes_are_reported_as_corrupt_data()
    {
        var bytes = Sample().Encode();

        Assert.Throws<CorruptDataException>(() => IndexFile.Decode([.. bytes, 0], "index"));
    }

    [Theory]
    [InlineData("XIDX")]
    [InlineData("sidx")]
    [InlineData("\0\0\0\0")]
    public void A_file_with_bad_magic_is_not_an_index_file(string magic)
    {
        var bytes = Sample().Encode();
        System.Text.Encoding.ASCII.GetBytes(magic).CopyTo(bytes, 0);

        var e = Assert.Throws<CorruptDataException>(() => IndexFile.Decode(bytes, "index"));
        Assert.Contains("not an index file", e.Message);
    }

    [Fact]
    public void An_unknown_version_is_refused()
    {
        var bytes = Sample().Encode();
        bytes[4] = 2;

        var e = Assert.Throws<CorruptDataException>(() => IndexFile.Decode(bytes, "index"));
        Assert.Contains("version 2", e.Message);
    }

    [Fact]
    public void An_unknown_blob_type_is_reported_as_corrupt_data()
    {
        var bytes = Sample(packs: 1, entriesPerPack: 1).Encode();
        bytes[9 + 36] = 9;

        Assert.Throws<CorruptDataException>(() => IndexFile.Decode(bytes, "index"));
    }

    [Theory]
    [InlineData(uint.MaxValue)]
    [InlineData(0x8000_0000u)]
    [InlineData(0x7FFF_FFFFu)]
    [InlineData(2u)]
    public void An_entry_count_larger_than_the_file_is_reported_as_corrupt_data(uint count)
    {
        var bytes = Sample(packs: 1, entriesPerPack: 1).Encode();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(9 + 32), count);

        var e = Record.Exception(() => IndexFile.Decode(bytes, "index"));
        Assert.IsType<CorruptDataException>(e);
    }

    [Theory]
    [InlineData(uint.MaxValue)]
    [InlineData(4u)]
    public void A_pack_count_larger_than_the_file_is_reported_as_corrupt_data(uint count)
    {
        var bytes = Sample(packs: 3).Encode();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(5), count);

        var e = Record.Exception(() => IndexFile.Decode(bytes, "index"));
        Assert.IsType<CorruptDataException>(e);
    }
}
