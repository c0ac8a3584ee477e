using System.Security.Cryptography;
using Strata.Errors;

namespace Strata.Crypto;

/// <summary>
/// AES-256-GCM with a random 96-bit nonce per message. Sealed layout: nonce (12) | ciphertext | tag (16).
/// AesGcm instances are not safe to share between threads, so each thread keeps its own.
/// </summary>
public sealed class AuthenticatedCipher
{
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int Overhead = NonceSize + TagSize;

    private readonly byte[] _key;
    private readonly ThreadLocal<AesGcm> _aes;

    public AuthenticatedCipher(byte[] key)
    {
        _key = key;
        _aes = new ThreadLocal<AesGcm>(() => new AesGcm(_key, TagSize));
    }

    public static int SealedLength(int plaintextLength) => plaintextLength + Overhead;

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="destination"/>; returns the sealed length.</summary>
    public int Seal(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        int total = SealedLength(plaintext.Length);
        if (destination.Length < total) throw new ArgumentException("destination too small for the sealed message");
        var nonce = destination[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        _aes.Value!.Encrypt(nonce, plaintext, destination.Slice(NonceSize, plaintext.Length),
            destination.Slice(NonceSize + plaintext.Length, TagSize));
        return total;
    }

    /// <summary>
    /// Seals the plaintext found at <c>buffer[NonceSize..NonceSize+plaintextLength]</c> where it lies:
    /// the nonce goes in front, the tag behind. Saves a copy of every blob on the backup path.
    /// </summary>
    public int SealInPlace(Span<byte> buffer, int plaintextLength)
    {
        int total = SealedLength(plaintextLength);
        if (buffer.Length < total) throw new ArgumentException("buffer too small for the sealed message");
        var nonce = buffer[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        var text = buffer.Slice(NonceSize, plaintextLength);
        _aes.Value!.Encrypt(nonce, text, text, buffer.Slice(NonceSize + plaintextLength, TagSize));
        return total;
    }

    /// <summary>Opens a sealed message where it lies; the plaintext is then <c>sealedMessage[NonceSize..NonceSize+result]</c>.</summary>
    public int OpenInPlace(Span<byte> sealedMessage, string what)
    {
        if (sealedMessage.Length < Overhead) throw new CorruptDataException($"{what}: too short to be encrypted data ({sealedMessage.Length} bytes)");
        int length = sealedMessage.Length - Overhead;
        var text = sealedMessage.Slice(NonceSize, length);
        try
        {
            _aes.Value!.Decrypt(sealedMessage[..NonceSize], text, sealedMessage[^TagSize..], text);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CorruptDataException($"{what}: authentication failed (the data was damaged or changed)");
        }
        return length;
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext)
    {
        var sealedBytes = new byte[SealedLength(plaintext.Length)];
        Seal(plaintext, sealedBytes);
        return sealedBytes;
    }

    /// <summary>Decrypts and authenticates; any change to any bit is a <see cref="CorruptDataException"/>.</summary>
    public int Open(ReadOnlySpan<byte> sealedMessage, Span<byte> destination, string what)
    {
        if (sealedMessage.Length < Overhead) throw new CorruptDataException($"{what}: too short to be encrypted data ({sealedMessage.Length} bytes)");
        int length = sealedMessage.Length - Overhead;
        if (destination.Length < length) throw new ArgumentException("destination too small for the plaintext");
        try
        {
            _aes.Value!.Decrypt(sealedMessage[..NonceSize], sealedMessage.Slice(NonceSize, length),
                sealedMessage[^TagSize..], destination[..length]);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CorruptDataException($"{what}: authentication failed (the data was damaged or changed)");
        }
        return length;
    }

    public byte[] Open(ReadOnlySpan<byte> sealedMessage, string what)
    {
        if (sealedMessage.Length < Overhead) throw new CorruptDataException($"{what}: too short to be encrypted data ({sealedMessage.Length} bytes)");
        var plaintext = new byte[sealedMessage.Length - Overhead];
        Open(sealedMessage, plaintext, what);
        return plaintext;
    }
}
