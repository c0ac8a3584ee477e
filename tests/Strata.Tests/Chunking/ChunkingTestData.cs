using System.Buffers.Binary;
using System.Security.Cryptography;
using Strata.Chunking;

namespace Strata.Tests.Chunking;

/// <summary>Inputs and helpers shared by the chunking tests.</summary>
internal static class ChunkingTestData
{
    /// <summary>Small sizes so that a few MiB of input gives thousands of chunks (good statistics, fast tests).</summary>
    public static readonly ChunkerParameters Small = new(2048, 8192, 65536);

    public static GearTable Table(byte seedByte = 1)
    {
        var seed = new byte[GearTable.SeedSize];
        seed.AsSpan().Fill(seedByte);
        return GearTable.FromSeed(seed);
    }

    /// <summary>The seed 00 01 02 .. 1f used by the reference vectors.</summary>
    public static GearTable CountingSeedTable()
    {
        var seed = new byte[GearTable.SeedSize];
        for (int i = 0; i < seed.Length; i++) seed[i] = (byte)i;
        return GearTable.FromSeed(seed);
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>SHA-256(LE32(0)) || SHA-256(LE32(1)) || ..., cut to length: trivial to reproduce in any language.</summary>
    public static byte[] Sha256Stream(int length)
    {
        var data = new byte[length + SHA256.HashSizeInBytes];
        Span<byte> counter = stackalloc byte[4];
        for (int k = 0, offset = 0; offset < length; k++, offset += SHA256.HashSizeInBytes)
        {
            BinaryPrimitives.WriteInt32LittleEndian(counter, k);
            SHA256.HashData(counter, data.AsSpan(offset));
        }
        return data[..length];
    }

    /// <summary>Lengths of the chunks of <paramref name="data"/>, cut in one pass over the whole array.</summary>
    public static List<int> ChunkLengths(FastCdc cdc, ReadOnlySpan<byte> data)
    {
        var lengths = new List<int>();
        while (!data.IsEmpty)
        {
            int length = cdc.NextChunkLength(data, endOfInput: true);
            lengths.Add(length);
            data = data[length..];
        }
        return lengths;
    }

    /// <summary>The chunks themselves, as hex of their SHA-256, to compare chunk lists across edits.</summary>
    public static List<string> ChunkHashes(FastCdc cdc, byte[] data)
    {
        var hashes = new List<string>();
        int offset = 0;
        foreach (int length in ChunkLengths(cdc, data))
        {
            hashes.Add(Convert.ToHexString(SHA256.HashData(data.AsSpan(offset, length))));
            offset += length;
        }
        return hashes;
    }
}
