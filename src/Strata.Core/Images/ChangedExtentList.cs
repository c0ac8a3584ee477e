using System.Buffers.Binary;
using Strata.Errors;

namespace Strata.Images;

/// <summary>
/// The CBT metadata of a recovery point: the byte extents whose content differs from the snapshot
/// it was taken against (docs/FORMAT.md, "Changed-extent lists"). Stored as a metadata blob.
/// </summary>
public static class ChangedExtentList
{
    public const byte Version = 1;
    private static ReadOnlySpan<byte> Magic => "SCXL"u8;
    private const int HeaderSize = 4 + 1 + 4;

    public static byte[] Encode(IReadOnlyList<ImageExtent> extents)
    {
        var bytes = new byte[HeaderSize + extents.Count * 16];
        Magic.CopyTo(bytes);
        bytes[4] = Version;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(5), (uint)extents.Count);
        for (int i = 0; i < extents.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(HeaderSize + i * 16), (ulong)extents[i].Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(HeaderSize + i * 16 + 8), (ulong)extents[i].Length);
        }
        return bytes;
    }

    public static List<ImageExtent> Decode(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length < HeaderSize || !bytes[..4].SequenceEqual(Magic)) throw new CorruptDataException($"{what}: not a changed-extent list");
        if (bytes[4] != Version) throw new CorruptDataException($"{what}: changed-extent list version {bytes[4]} is not supported (supports {Version})");
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[5..]);
        if (bytes.Length != HeaderSize + (long)count * 16) throw new CorruptDataException($"{what}: length does not match its {count} extents");
        var extents = new List<ImageExtent>((int)count);
        long previousEnd = 0;
        for (int i = 0; i < count; i++)
        {
            long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes[(HeaderSize + i * 16)..]);
            long length = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes[(HeaderSize + i * 16 + 8)..]);
            if (offset < previousEnd || length <= 0 || offset + length < offset) throw new CorruptDataException($"{what}: extents out of order or empty");
            extents.Add(new ImageExtent(offset, length));
            previousEnd = offset + length;
        }
        return extents;
    }
}
