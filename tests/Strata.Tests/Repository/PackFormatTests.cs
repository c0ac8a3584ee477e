using System.Buffers.Binary;
using Strata.Crypto;
using Strata.Errors;
using Strata.Repository;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Repository;

public class PackFormatTests
{
    private static readonly MasterKey Key = MasterKey.Generate();

    /// <summary>A pack as BlobWriter builds it: sealed blobs back to back, then header and trailer.</summary>
    private static (byte[] Pack, List<PackEntry> Entries, List<byte[]> Blobs) BuildPack(int blobCount = 5)
    {
        var stream = new MemoryStream();
        var entries = new List<PackEntry>();
        var blobs = new List<byte[]>();
        for (int i = 0; i < blobCount; i++)
        {
            var plaintext = i % 2 == 0 ? TestData.RandomBytes(1000 + i * 37, seed: i) : TestData.Text(3000 + i, seed: i);
            var sealedBlob = Envelope.Seal(Key.Cipher, plaintext, 3);
            entries.Add(new PackEntry(i % 3 == 0 ? BlobType.Tree : BlobType.Data, Key.ComputeBlobId(plaintext),
                (uint)stream.Length, (uint)sealedBlob.Length, (uint)plaintext.Length));
            stream.Write(sealedBlob);
            blobs.Add(plaintext);
        }
        PackFormat.WriteTrailer(Key.Cipher, entries, stream);
        return (stream.ToArray(), entries, blobs);
    }

    [Fact]
    public void The_header_read_back_from_a_pack_lists_every_blob_as_written()
    {
        var (pack, entries, _) = BuildPack();

        var read = PackFormat.ReadHeader(Key.Cipher, pack, "pack");

        Assert.Equal(entries, read);
    }

    [Fact]
    public void The_entries_of_a_pack_locate_each_blobs_sealed_bytes()
    {
        var (pack, _, blobs) = BuildPack();

        var entries = PackFormat.ReadHeader(Key.Cipher, pack, "pack");

        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var plaintext = new byte[e.RawLength];
            Envelope.Open(Key.Cipher, pack.AsSpan((int)e.Offset, (int)e.Length), plaintext, "blob");
            Assert.Equal(blobs[i], plaintext);
            Assert.Equal(e.Id, Key.ComputeBlobId(plaintext));
        }
    }

    [Fact]
    public void A_pack_without_blobs_has_an_empty_header()
    {
        var stream = new MemoryStream();
        PackFormat.WriteTrailer(Key.Cipher, [], stream);

        Assert.Empty(PackFormat.ReadHeader(Key.Cipher, stream.ToArray(), "pack"));
    }

    [Fact]
    public void The_plaintext_header_has_a_fixed_size_per_entry()
    {
        var (_, entries, _) = BuildPack(blobCount: 3);

        var header = PackFormat.EncodeHeader(entries);

        Assert.Equal(3 * PackFormat.HeaderEntrySize, header.Length);
        Assert.Equal(1 + 32 + 4 + 4, PackFormat.HeaderEntrySize);
        Assert.Equal((byte)entries[0].Type, header[0]);
        Assert.Equal(entries[0].Id.ToArray(), header[1..33]);
        Assert.Equal(entries[0].Length, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(33)));
        Assert.Equal(entries[0].RawLength, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(37)));
    }

    [Fact]
    public void The_header_is_encrypted()
    {
        var (pack, entries, _) = BuildPack();

        var hexPack = Convert.ToHexString(pack);

        foreach (var e in entries) Assert.DoesNotContain(Convert.ToHexString(e.Id.ToArray()), hexPack);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(1000)]
    [InlineData(int.MaxValue)]
    public void A_trailer_with_a_wrong_header_length_is_reported_as_corrupt_data(int change)
    {
        var (pack, _, _) = BuildPack();
        var trailer = pack.AsSpan(pack.Length - 4);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, unchecked((uint)(length + change)));

        Assert.Throws<CorruptDataException>(() => PackFormat.ReadHeader(Key.Cipher, pack, "pack"));
    }

    [Fact]
    public void A_trailer_of_all_ones_is_reported_as_corrupt_data()
    {
        var (pack, _, _) = BuildPack();
        pack.AsSpan(pack.Length - 4).Fill(0xFF);

        var e = Assert.Throws<CorruptDataException>(() => PackFormat.ReadHeader(Key.Cipher, pack, "data/ab/abc"));
        Assert.Contains("data/ab/abc", e.Message);
    }

    [Fact]
    public void A_truncated_pack_is_reported_as_corrupt_data_at_every_length()
    {
        var (pack, _, _) = BuildPack(blobCount: 2);

        for (int length = 0; length < pack.Length; length++)
            Assert.Throws<CorruptDataException>(() => PackFormat.ReadHeader(Key.Cipher, pack.AsSpan(0, length), "pack"));
    }

    [Fact]
    public void A_pack_with_bytes_cut_from_its_blob_area_is_reported_as_corrupt_data()
    {
        var (pack, _, _) = BuildPack();
        var cut = pack[10..]; // header and trailer intact, blob area 10 bytes short

        var e = Assert.Throws<CorruptDataException>(() => PackFormat.ReadHeader(Key.Cipher, cut, "pack"));
        Assert.Contains("header describes", e.Message);
    }

    [Theory]
    [InlineData(+1)]
    [InlineData(-1)]
    public void Entries_must_tile_the_blob_area_exactly(int lengthError)
    {
        var (pack, entries, _) = BuildPack();
        var blobArea = (int)(entries[^1].Offset + entries[^1].Length);
        var wrong = entries.ToList();
        wrong[2] = wrong[2] with { Length = (uint)(wrong[2].Length + lengthError) };
        var stream = new MemoryStream();
        stream.Write(pack, 0, blobArea);
        PackFormat.WriteTrailer(Key.Cipher, wrong, stream);

        var e = Assert.Throws<CorruptDataException>(() => PackFormat.ReadHeader(Key.Cipher, stream.ToArray(), "pack"));
        Assert.Contains("header describes", e.Message);
    }

    [Fact]
    public void Extra_bytes_between_the_blobs_and_the_header_are_reported_as_corrupt_data()
    {
        var (pack, entries, _) = BuildPack();
        var blobArea = (int)(entries[^1].Offset + entries[^1].Length);
        var stream = new MemoryStream();
        stream.Write(pack, 0, blobArea);
        stream.Write(new byte[7]);
        PackFormat.WriteTrailer(Key.Cipher, entries, stream);

        Assert.Throws<CorruptDataException>(() => PackFormat.ReadHeader(Key.Cipher, stream.ToArray(), "pack"));
    }

    [Fact]
    public void A_header_naming_an_unknown_blob_type_is_reported_as_corrupt_data()
    {
        var (pack, entries, _) = BuildPack(blobCount: 1);
        var header = PackFormat.EncodeHeader(entries);
        header[0] = 7;
        var stream = new MemoryStream();
        stream.Write(pack, 0, (int)entries[0].Length);
        var sealedHeader = Envelope.Seal(Key.Cipher, header, 0);
        stream.Write(sealedHeader);
        stream.Write(BitConverter.GetBytes((uint)sealedHeader.Length));

        var e = Assert.Throws<CorruptDataException>(() => PackFormat.ReadHeader(Key.Cipher, stream.ToArray(), "pack"));
        Assert.Contains("unknown blob type", e.Message);
    }

    [Fact]
    public void A_pack_read_with_another_key_is_reported_as_corrupt_data()
    {
        var (pack, _, _) = BuildPack();

        Assert.Throws<CorruptDataException>(() => PackFormat.ReadHeader(MasterKey.Generate().Cipher, pack, "pack"));
    }
}
