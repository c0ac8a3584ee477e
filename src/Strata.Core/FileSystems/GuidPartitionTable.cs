using System.Buffers.Binary;
using System.Text;

namespace Strata.FileSystems;

/// <summary>
/// Reads a GUID partition table (UEFI spec, chapter 5): the header at LBA 1 with its CRC-32, the
/// entry array with its CRC-32; if either is damaged, the backup copy at the disk's last LBA.
/// </summary>
internal static class GuidPartitionTable
{
    private const int HeaderMinSize = 92;
    private const int MaxEntryArrayBytes = 4 << 20;

    public static async Task<IReadOnlyList<Partition>> ReadAsync(IBlockSource disk, CancellationToken ct)
    {
        var problems = new List<string>();
        int? damagedAt = null;
        foreach (int sectorSize in SectorSizes)
        {
            if (disk.Length / sectorSize < 3) continue;
            var primary = await TryReadAsync(disk, sectorSize, 1, ct).ConfigureAwait(false);
            if (primary.Partitions is not null) return primary.Partitions;
            if (primary.Problem is null) continue; // no "EFI PART" here: try the other sector size
            problems.Add($"primary header: {primary.Problem}");
            damagedAt = sectorSize;
            break;
        }
        foreach (int sectorSize in damagedAt is int size ? [size] : SectorSizes)
        {
            long lastLba = disk.Length / sectorSize - 1;
            if (lastLba < 2) continue;
            var backup = await TryReadAsync(disk, sectorSize, lastLba, ct).ConfigureAwait(false);
            if (backup.Partitions is not null) return backup.Partitions;
            if (damagedAt is not null) problems.Add($"backup header at LBA {lastLba}: {backup.Problem}");
        }
        throw new CorruptFileSystemException(problems.Count == 0
            ? $"{disk.Description}: the protective MBR announces a GPT, but neither LBA 1 nor the last LBA holds a valid GPT header"
            : $"{disk.Description}: damaged GPT ({string.Join("; ", problems)})");
    }

    private static readonly int[] SectorSizes = [512, 4096];

    /// <summary>The partitions, or the problem with this copy; both null when there is no GPT signature at all.</summary>
    private static async Task<(IReadOnlyList<Partition>? Partitions, string? Problem)> TryReadAsync(IBlockSource disk, int sectorSize, long lba, CancellationToken ct)
    {
        var header = new byte[sectorSize];
        await disk.ReadCheckedAsync(lba * sectorSize, header, "the GPT header", ct).ConfigureAwait(false);
        if (!header.AsSpan(0, 8).SequenceEqual("EFI PART"u8)) return (null, lba == 1 ? null : "no \"EFI PART\" signature");
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12));
        if (headerSize < HeaderMinSize || headerSize > sectorSize) return (null, $"header size {headerSize} is not between {HeaderMinSize} and {sectorSize}");
        uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 0);
        uint crc = Checksums.Crc32(header.AsSpan(0, (int)headerSize));
        if (crc != storedCrc) return (null, $"header CRC-32 is 0x{crc:x8}, stored 0x{storedCrc:x8}");
        ulong myLba = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(24));
        if (myLba != (ulong)lba) return (null, $"header says it lies at LBA {myLba}, not {lba}");
        long sectors = disk.Length / sectorSize;
        ulong entriesLba = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(72));
        uint entryCount = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(80));
        uint entrySize = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(84));
        uint entriesCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(88));
        if (entrySize < 128 || entrySize > 4096 || entrySize % 8 != 0) return (null, $"entry size {entrySize} is not a multiple of 8 from 128 to 4096");
        long arrayBytes = (long)entryCount * entrySize;
        if (arrayBytes > MaxEntryArrayBytes) return (null, $"{entryCount} entries of {entrySize} bytes exceed {MaxEntryArrayBytes >> 20} MiB");
        if (entriesLba < 2 || entriesLba >= (ulong)sectors || arrayBytes > (sectors - (long)entriesLba) * sectorSize)
            return (null, $"the entry array (LBA {entriesLba}, {arrayBytes} bytes) lies outside the disk");

        var array = new byte[arrayBytes];
        await disk.ReadCheckedAsync((long)entriesLba * sectorSize, array, "the GPT entry array", ct).ConfigureAwait(false);
        uint arrayCrc = Checksums.Crc32(array);
        if (arrayCrc != entriesCrc) return (null, $"entry array CRC-32 is 0x{arrayCrc:x8}, stored 0x{entriesCrc:x8}");

        var partitions = new List<Partition>();
        for (int i = 0; i < entryCount; i++)
        {
            var e = array.AsSpan(i * (int)entrySize, (int)entrySize);
            var type = new Guid(e[..16]);
            if (type == Guid.Empty) continue;
            ulong first = BinaryPrimitives.ReadUInt64LittleEndian(e[32..]);
            ulong last = BinaryPrimitives.ReadUInt64LittleEndian(e[40..]);
            if (first > last || last >= (ulong)sectors)
                return (null, $"entry {i + 1} spans LBA {first} to {last}, outside the disk's {sectors} sectors");
            string name = Encoding.Unicode.GetString(e.Slice(56, 72)).TrimEnd('\0');
            int nul = name.IndexOf('\0');
            if (nul >= 0) name = name[..nul];
            partitions.Add(new Partition(i + 1, (long)first * sectorSize, (long)(last - first + 1) * sectorSize, type.ToString(), name));
        }
        return (partitions, null);
    }
}
