using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Strata.Chunking;

/// <summary>
/// The 256 random 64-bit values of the gear rolling hash, one per byte value. Each repository
/// derives its own table from a secret seed, so chunk boundaries (and hence chunk sizes, which
/// the storage sees) depend on a key: the same file cut by another repository gives different
/// sizes, and sizes cannot be matched against known files.
/// </summary>
/// <remarks>
/// Derivation (part of the on-disk format; do not change):
/// <code>
/// for i in 0 .. 255:
///     d = SHA-256(seed || byte(i))          -- 33-byte message: the 32-byte seed, then i as one byte
///     Gear[i] = d[0] | d[1] &lt;&lt; 8 | ... | d[7] &lt;&lt; 56   -- first 8 bytes of d, little-endian, as uint64
/// </code>
/// Example: the all-zero seed gives Gear[0] = 0xca5682ac319e9c7f
/// (SHA-256 of 33 zero bytes starts 7f 9c 9e 31 ac 82 56 ca).
/// The seed must be used for nothing else.
/// </remarks>
public sealed class GearTable
{
    /// <summary>Entries in the table: one per byte value.</summary>
    public const int Length = 256;

    /// <summary>Bytes in a seed.</summary>
    public const int SeedSize = 32;

    private readonly ulong[] _values;

    private GearTable(ulong[] values) => _values = values;

    /// <summary>The entry for byte value <paramref name="index"/> (0..255).</summary>
    public ulong this[int index] => _values[index];

    /// <summary>Derives the table from a 32-byte seed as described in the remarks.</summary>
    public static GearTable FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
            throw new ArgumentException($"gear table seed must be {SeedSize} bytes, got {seed.Length}", nameof(seed));

        Span<byte> message = stackalloc byte[SeedSize + 1];
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        seed.CopyTo(message);
        var values = new ulong[Length];
        for (int i = 0; i < Length; i++)
        {
            message[SeedSize] = (byte)i;
            SHA256.HashData(message, digest);
            values[i] = BinaryPrimitives.ReadUInt64LittleEndian(digest);
        }
        return new GearTable(values);
    }

    /// <summary>A copy of the 256 entries, for chunkers that keep the table next to their other state.</summary>
    internal ulong[] ToArray() => (ulong[])_values.Clone();
}
