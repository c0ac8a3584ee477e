using System.Buffers.Binary;
using Strata.Crypto;
using Strata.Errors;

namespace Strata.Repository;

/// <summary>
/// Pack file layout (docs/FORMAT.md, "Packs"): sealed blobs back to back, then the sealed header
/// (an envelope listing every blob), then the header's sealed length as a little-endian u32.
/// A pack can thus be understood from its own bytes alone, which is what <c>repair index</c> relies on.
/// </summary>
public static class PackFormat
{
    public const int HeaderEntrySize = 1 + BlobId.Size + 4 + 4;
    private const int TrailerSize = 4;

    /// <summary>Plaintext header: per entry type (u8) | id (32) | sealed length (u32 LE) | plaintext length (u32 LE).</summary>
    public static byte[] EncodeHeader(IReadOnlyList<PackEntry> entries)
    {
        var header = new byte[entries.Count * HeaderEntrySize];
        var span = header.AsSpan();
        foreach (var e in entries)
        {
            span[0] = (byte)e.Type;
            e.Id.WriteTo(span[1..]);
            BinaryPrimitives.WriteUInt32LittleEndian(span[33..], e.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(span[37..], e.RawLength);
            span = span[HeaderEntrySize..];
        }
        return header;
    }

    /// <summary>Bytes a pack of <paramref name="entryCount"/> blobs spends on its header and trailer (the header is stored uncompressed).</summary>
    public static long Overhead(int entryCount) => AuthenticatedCipher.SealedLength(1 + entryCount * HeaderEntrySize) + TrailerSize;

    /// <summary>Appends the sealed header and trailer to the blob bytes already in <paramref name="pack"/>.</summary>
    public static void WriteTrailer(AuthenticatedCipher cipher, IReadOnlyList<PackEntry> entries, Stream pack)
    {
        var sealedHeader = Envelope.Seal(cipher, EncodeHeader(entries), compressionLevel: 0);
        pack.Write(sealedHeader);
        Span<byte> length = stackalloc byte[TrailerSize];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)sealedHeader.Length);
        pack.Write(length);
    }

    /// <summary>Reads the blob list of a whole pack held in memory, checking that the entries tile the blob area exactly.</summary>
    public static List<PackEntry> ReadHeader(AuthenticatedCipher cipher, ReadOnlySpan<byte> pack, string what)
    {
        if (pack.Length < TrailerSize) throw new CorruptDataException($"{what}: too short to be a pack ({pack.Length} bytes)");
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(pack[^TrailerSize..]);
        if (headerLength > pack.Length - TrailerSize) throw new CorruptDataException($"{what}: header length {headerLength} exceeds the pack");
        int headerStart = pack.Length - TrailerSize - (int)headerLength;
        var header = Envelope.Open(cipher, pack.Slice(headerStart, (int)headerLength), $"{what} header");
        return DecodeHeader(header, headerStart, what);
    }

    /// <summary>Reads only a stored pack's header (two ranged reads), for rebuilding the index without reading the data.</summary>
    public static async Task<List<PackEntry>> ReadHeaderAsync(Storage.IStorageBackend backend, AuthenticatedCipher cipher, string name, long packSize, CancellationToken ct = default)
    {
        if (packSize < TrailerSize) throw new CorruptDataException($"{name}: too short to be a pack ({packSize} bytes)");
        var trailer = new byte[TrailerSize];
        await backend.ReadAsync(name, packSize - TrailerSize, trailer, ct).ConfigureAwait(false);
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        if (headerLength > packSize - TrailerSize) throw new CorruptDataException($"{name}: header length {headerLength} exceeds the pack");
        long headerStart = packSize - TrailerSize - headerLength;
        var sealedHeader = new byte[headerLength];
        await backend.ReadAsync(name, headerStart, sealedHeader, ct).ConfigureAwait(false);
        return DecodeHeader(Envelope.Open(cipher, sealedHeader, $"{name} header"), (int)headerStart, name);
    }

    private static List<PackEntry> DecodeHeader(byte[] header, int blobAreaLength, string what)
    {
        if (header.Length % HeaderEntrySize != 0) throw new CorruptDataException($"{what}: header has a partial entry");
        var entries = new List<PackEntry>(header.Length / HeaderEntrySize);
        uint offset = 0;
        for (var span = header.AsSpan(); span.Length > 0; span = span[HeaderEntrySize..])
        {
            var type = (BlobType)span[0];
            if (type is not (BlobType.Data or BlobType.Tree)) throw new CorruptDataException($"{what}: unknown blob type {span[0]}");
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(span[33..]);
            uint raw = BinaryPrimitives.ReadUInt32LittleEndian(span[37..]);
            entries.Add(new PackEntry(type, new BlobId(span.Slice(1, BlobId.Size)), offset, length, raw));
            offset += length;
        }
        if (offset != blobAreaLength) throw new CorruptDataException($"{what}: header describes {offset} bytes of blobs, pack holds {blobAreaLength}");
        return entries;
    }
}
