using System.Buffers.Binary;
using Strata.Errors;
using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// The stored form of a <see cref="BlockMap"/> (docs/FORMAT.md, "Block maps"): a root blob naming
/// segment blobs of up to <see cref="BlocksPerSegment"/> block ids each. Segments of unchanged
/// regions are identical from one backup to the next, so they deduplicate like data.
/// </summary>
public static class BlockMapFormat
{
    public const int BlocksPerSegment = 4096;
    public const byte Version = 1;
    private static ReadOnlySpan<byte> RootMagic => "SBMR"u8;
    private static ReadOnlySpan<byte> SegmentMagic => "SBMS"u8;
    private const int RootHeaderSize = 4 + 1 + 4 + 8 + 4 + 4;
    private const int SegmentHeaderSize = 4 + 1 + 4;

    public readonly record struct Root(int BlockSize, long ImageSize, BlobId[] Segments);

    public static int SegmentCount(int blockCount) => (blockCount + BlocksPerSegment - 1) / BlocksPerSegment;

    public static byte[] EncodeSegment(ReadOnlySpan<BlobId> blocks)
    {
        var bytes = new byte[SegmentHeaderSize + blocks.Length * BlobId.Size];
        SegmentMagic.CopyTo(bytes);
        bytes[4] = Version;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(5), (uint)blocks.Length);
        for (int i = 0; i < blocks.Length; i++) blocks[i].WriteTo(bytes.AsSpan(SegmentHeaderSize + i * BlobId.Size));
        return bytes;
    }

    public static void DecodeSegment(ReadOnlySpan<byte> bytes, Span<BlobId> destination, string what)
    {
        if (bytes.Length < SegmentHeaderSize || !bytes[..4].SequenceEqual(SegmentMagic))
            throw new CorruptDataException($"{what}: not a block-map segment");
        if (bytes[4] != Version) throw new CorruptDataException($"{what}: block-map segment version {bytes[4]} is not supported (supports {Version})");
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[5..]);
        if (count != destination.Length || bytes.Length != SegmentHeaderSize + count * BlobId.Size)
            throw new CorruptDataException($"{what}: block-map segment holds {count} blocks where {destination.Length} were expected");
        for (int i = 0; i < destination.Length; i++) destination[i] = new BlobId(bytes.Slice(SegmentHeaderSize + i * BlobId.Size, BlobId.Size));
    }

    public static byte[] EncodeRoot(int blockSize, long imageSize, IReadOnlyList<BlobId> segments)
    {
        var bytes = new byte[RootHeaderSize + segments.Count * BlobId.Size];
        RootMagic.CopyTo(bytes);
        bytes[4] = Version;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(5), (uint)blockSize);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(9), (ulong)imageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(17), BlocksPerSegment);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(21), (uint)segments.Count);
        for (int i = 0; i < segments.Count; i++) segments[i].WriteTo(bytes.AsSpan(RootHeaderSize + i * BlobId.Size));
        return bytes;
    }

    public static Root DecodeRoot(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length < RootHeaderSize || !bytes[..4].SequenceEqual(RootMagic))
            throw new CorruptDataException($"{what}: not a block map");
        if (bytes[4] != Version) throw new CorruptDataException($"{what}: block-map version {bytes[4]} is not supported (supports {Version})");
        int blockSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[5..]);
        long imageSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes[9..]);
        uint perSegment = BinaryPrimitives.ReadUInt32LittleEndian(bytes[17..]);
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[21..]);
        try { BlockMap.ValidateBlockSize(blockSize); }
        catch (UsageException e) { throw new CorruptDataException($"{what}: {e.Message}"); }
        if (imageSize < 0 || perSegment != BlocksPerSegment) throw new CorruptDataException($"{what}: invalid block-map header");
        long blocks = (imageSize + blockSize - 1) / blockSize;
        if (blocks > int.MaxValue || count != SegmentCount((int)blocks) || bytes.Length != RootHeaderSize + count * BlobId.Size)
            throw new CorruptDataException($"{what}: block map lists {count} segments for an image of {imageSize} bytes");
        var segments = new BlobId[count];
        for (int i = 0; i < segments.Length; i++) segments[i] = new BlobId(bytes.Slice(RootHeaderSize + i * BlobId.Size, BlobId.Size));
        return new Root(blockSize, imageSize, segments);
    }
}
