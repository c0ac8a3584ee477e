using System.Buffers.Binary;
using Strata.Errors;

namespace Strata.Repository;

/// <summary>
/// The contents of one <c>index/&lt;id&gt;</c> object: which blobs each pack holds and where
/// (docs/FORMAT.md, "Index"). Binary and compact: a repository with millions of blobs loads fast.
/// </summary>
public sealed class IndexFile
{
    private static ReadOnlySpan<byte> Magic => "SIDX"u8;
    private const byte Version = 1;
    private const int EntrySize = 1 + BlobId.Size + 4 + 4 + 4;

    public List<(BlobId Pack, List<PackEntry> Entries)> Packs { get; } = new();

    public byte[] Encode()
    {
        int size = Magic.Length + 1 + 4;
        foreach (var (_, entries) in Packs) size += BlobId.Size + 4 + entries.Count * EntrySize;
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        span[4] = Version;
        BinaryPrimitives.WriteUInt32LittleEndian(span[5..], (uint)Packs.Count);
        span = span[9..];
        foreach (var (pack, entries) in Packs)
        {
            pack.WriteTo(span);
            BinaryPrimitives.WriteUInt32LittleEndian(span[32..], (uint)entries.Count);
            span = span[36..];
            foreach (var e in entries)
            {
                span[0] = (byte)e.Type;
                e.Id.WriteTo(span[1..]);
                BinaryPrimitives.WriteUInt32LittleEndian(span[33..], e.Offset);
                BinaryPrimitives.WriteUInt32LittleEndian(span[37..], e.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(span[41..], e.RawLength);
                span = span[EntrySize..];
            }
        }
        return bytes;
    }

    public static IndexFile Decode(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length < 9 || !bytes[..4].SequenceEqual(Magic)) throw new CorruptDataException($"{what}: not an index file");
        if (bytes[4] != Version) throw new CorruptDataException($"{what}: index version {bytes[4]} is not supported");
        var file = new IndexFile();
        uint packCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[5..]);
        var span = bytes[9..];
        for (uint p = 0; p < packCount; p++)
        {
            if (span.Length < 36) throw new CorruptDataException($"{what}: truncated");
            var pack = new BlobId(span[..32]);
            // Unsigned: a count of 2^31 or more must read as "truncated", not as a negative capacity.
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(span[32..]);
            span = span[36..];
            if ((long)count * EntrySize > span.Length) throw new CorruptDataException($"{what}: truncated");
            var entries = new List<PackEntry>((int)count);
            for (uint i = 0; i < count; i++)
            {
                var type = (BlobType)span[0];
                if (type is not (BlobType.Data or BlobType.Tree)) throw new CorruptDataException($"{what}: unknown blob type {span[0]}");
                entries.Add(new PackEntry(type, new BlobId(span.Slice(1, 32)),
                    BinaryPrimitives.ReadUInt32LittleEndian(span[33..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(span[37..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(span[41..])));
                span = span[EntrySize..];
            }
            file.Packs.Add((pack, entries));
        }
        if (span.Length != 0) throw new CorruptDataException($"{what}: {span.Length} trailing bytes");
        return file;
    }
}
