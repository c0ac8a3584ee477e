using System.Buffers.Binary;
using System.Numerics;

namespace Strata.FileSystems;

/// <summary>
/// The two CRCs on-disk structures carry. CRC-32C (ext4's metadata_csum) runs on the CPU's crc32
/// instruction through <see cref="BitOperations.Crc32C(uint, ulong)"/>; CRC-32 (GPT headers) is
/// the table-driven IEEE 802.3 CRC, as no package for it is available here (System.IO.Hashing is not).
/// </summary>
internal static class Checksums
{
    private static readonly uint[] Crc32Table = MakeCrc32Table();

    /// <summary>
    /// Continues a raw CRC-32C (no inversions), as Linux's <c>crc32c()</c> does; ext4 seeds it with
    /// ~0 and stores the result as it is.
    /// </summary>
    public static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = (uint)BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }

    public static uint Crc32C(uint crc, uint littleEndianValue) => BitOperations.Crc32C(crc, littleEndianValue);

    /// <summary>Continues the CRC-16 (ANSI, reflected polynomial 0xA001) of ext4's older uninit_bg group descriptor checksums.</summary>
    public static ushort Crc16(ushort crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (ushort)((crc & 1) != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1);
        }
        return crc;
    }

    /// <summary>The standard CRC-32 (zlib, GPT) of <paramref name="data"/>.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = Crc32Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    private static uint[] MakeCrc32Table()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
