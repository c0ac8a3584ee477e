using System.Security.Cryptography;
using Strata.Repository;

namespace Strata.Crypto;

/// <summary>
/// The repository's random secret: one key encrypts everything, the other keys the blob-id hash.
/// Kept apart so that knowing blob ids (they appear in the index) reveals nothing about the
/// encryption key, and vice versa.
/// </summary>
public sealed class MasterKey
{
    public const int KeySize = 32;

    public MasterKey(byte[] encryptionKey, byte[] idKey)
    {
        if (encryptionKey.Length != KeySize || idKey.Length != KeySize)
            throw new ArgumentException("master key parts must be 32 bytes each");
        EncryptionKey = encryptionKey;
        IdKey = idKey;
        Cipher = new AuthenticatedCipher(encryptionKey);
    }

    public byte[] EncryptionKey { get; }
    public byte[] IdKey { get; }
    public AuthenticatedCipher Cipher { get; }

    public static MasterKey Generate() =>
        new(RandomNumberGenerator.GetBytes(KeySize), RandomNumberGenerator.GetBytes(KeySize));

    /// <summary>Blob id = HMAC-SHA-256(idKey, plaintext): the store cannot confirm guesses about content.</summary>
    public BlobId ComputeBlobId(ReadOnlySpan<byte> plaintext)
    {
        Span<byte> hash = stackalloc byte[BlobId.Size];
        HMACSHA256.HashData(IdKey, plaintext, hash);
        return new BlobId(hash);
    }
}
