using System.Buffers;
using Strata.Compression;
using Strata.Crypto;
using Strata.Errors;

namespace Strata.Repository;

/// <summary>
/// How every blob and metadata object is stored (docs/FORMAT.md, "Envelope"):
/// <c>seal( flag | body )</c> where flag 0 = body is the plaintext, flag 1 = body is one zstd frame.
/// Compression is kept only when it saves at least 1/32 of the size; otherwise the raw bytes are
/// stored, so incompressible data costs no decompression on restore.
/// </summary>
public static class Envelope
{
    public const byte Raw = 0;
    public const byte Zstd = 1;

    /// <summary>The largest sealed size an input of this length can need.</summary>
    public static int MaxSealedLength(int plaintextLength) =>
        AuthenticatedCipher.SealedLength(1 + Math.Max(plaintextLength, Compression.Zstd.CompressBound(plaintextLength)));

    /// <summary>
    /// Compresses (level &lt;= 0: never) and seals into <paramref name="destination"/>, which must hold
    /// <see cref="MaxSealedLength"/> bytes; returns the sealed length. Compression writes straight
    /// into the destination and encryption happens in place: no intermediate buffer.
    /// </summary>
    public static int Seal(AuthenticatedCipher cipher, ReadOnlySpan<byte> plaintext, int compressionLevel, Span<byte> destination)
    {
        if (destination.Length < MaxSealedLength(plaintext.Length)) throw new ArgumentException("destination too small for the sealed envelope");
        var envelope = destination[AuthenticatedCipher.NonceSize..];
        int bodyLength = -1;
        if (compressionLevel > 0 && plaintext.Length >= 64)
        {
            // The output room is the most compression may produce to be worth keeping: zstd gives up
            // early on incompressible data instead of compressing all of it only to throw it away.
            int worthwhile = plaintext.Length - (plaintext.Length >> 5) - 1;
            if (Compression.Zstd.TryCompress(plaintext, envelope.Slice(1, worthwhile), compressionLevel, out int compressed))
            {
                envelope[0] = Zstd;
                bodyLength = compressed;
            }
        }
        if (bodyLength < 0)
        {
            envelope[0] = Raw;
            plaintext.CopyTo(envelope[1..]);
            bodyLength = plaintext.Length;
        }
        return cipher.SealInPlace(destination, 1 + bodyLength);
    }

    public static byte[] Seal(AuthenticatedCipher cipher, ReadOnlySpan<byte> plaintext, int compressionLevel)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxSealedLength(plaintext.Length));
        try
        {
            int n = Seal(cipher, plaintext, compressionLevel, buffer);
            return buffer.AsSpan(0, n).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Opens and decompresses into <paramref name="destination"/>, which must hold exactly the plaintext.
    /// Decrypts in place: <paramref name="sealedBytes"/> is overwritten.
    /// </summary>
    public static void OpenInPlace(AuthenticatedCipher cipher, Span<byte> sealedBytes, Span<byte> destination, string what)
    {
        int n = cipher.OpenInPlace(sealedBytes, what);
        DecodeBody(sealedBytes.Slice(AuthenticatedCipher.NonceSize, n), destination, what);
    }

    /// <summary>Opens and decompresses into <paramref name="destination"/>, which must hold exactly the plaintext.</summary>
    public static void Open(AuthenticatedCipher cipher, ReadOnlySpan<byte> sealedBytes, Span<byte> destination, string what)
    {
        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, sealedBytes.Length));
        try
        {
            sealedBytes.CopyTo(copy);
            OpenInPlace(cipher, copy.AsSpan(0, sealedBytes.Length), destination, what);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>Opens an object whose plaintext length is not known in advance (metadata objects).</summary>
    public static byte[] Open(AuthenticatedCipher cipher, ReadOnlySpan<byte> sealedBytes, string what)
    {
        var body = cipher.Open(sealedBytes, what);
        if (body.Length == 0) throw new CorruptDataException($"{what}: empty envelope");
        switch (body[0])
        {
            case Raw:
                return body[1..];
            case Zstd:
                long size;
                try { size = Compression.Zstd.FrameContentSize(body.AsSpan(1)); }
                catch (CorruptDataException e) { throw new CorruptDataException($"{what}: {e.Message}"); }
                if (size < 0 || size > Array.MaxLength) throw new CorruptDataException($"{what}: compressed frame does not state its size");
                var plaintext = new byte[size];
                DecodeBody(body, plaintext, what);
                return plaintext;
            default:
                throw new CorruptDataException($"{what}: unknown envelope flag {body[0]}");
        }
    }

    private static void DecodeBody(ReadOnlySpan<byte> body, Span<byte> destination, string what)
    {
        if (body.Length == 0) throw new CorruptDataException($"{what}: empty envelope");
        switch (body[0])
        {
            case Raw:
                if (body.Length - 1 != destination.Length) throw new CorruptDataException($"{what}: holds {body.Length - 1} bytes, expected {destination.Length}");
                body[1..].CopyTo(destination);
                break;
            case Zstd:
                int n;
                try { n = Compression.Zstd.Decompress(body[1..], destination); }
                catch (CorruptDataException e) { throw new CorruptDataException($"{what}: {e.Message}"); }
                if (n != destination.Length) throw new CorruptDataException($"{what}: decompressed to {n} bytes, expected {destination.Length}");
                break;
            default:
                throw new CorruptDataException($"{what}: unknown envelope flag {body[0]}");
        }
    }
}
