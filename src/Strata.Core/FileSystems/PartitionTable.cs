using System.Buffers.Binary;

namespace Strata.FileSystems;

/// <summary>
/// The partitions of a disk: a GPT (behind its protective MBR; the backup header at the disk's end
/// is used when the primary one is damaged), an MBR with primary and logical partitions, or none.
/// Every entry is checked against the disk's size, so a damaged table gives a clear error, never a
/// read elsewhere. Sectors are 512 bytes for MBR; GPT is also looked for with 4096-byte sectors.
/// </summary>
public sealed class PartitionTable
{
    public const int MbrSectorSize = 512;
    private const int MaxLogicalPartitions = 128;

    private PartitionTable(PartitionScheme scheme, IReadOnlyList<Partition> partitions, string? sectorZeroNote)
    {
        Scheme = scheme;
        Partitions = partitions;
        SectorZeroNote = sectorZeroNote;
    }

    public PartitionScheme Scheme { get; }

    public IReadOnlyList<Partition> Partitions { get; }

    /// <summary>
    /// Why sector 0, which ends in the boot signature 55 AA, was not taken as an MBR (its entries
    /// make no sense); null otherwise. Boot sectors of whole-disk file systems carry the signature too.
    /// </summary>
    public string? SectorZeroNote { get; }

    public static async Task<PartitionTable> ReadAsync(IBlockSource disk, CancellationToken ct)
    {
        if (disk.Length < MbrSectorSize) return new PartitionTable(PartitionScheme.None, [], null);
        var sector = new byte[MbrSectorSize];
        await disk.ReadCheckedAsync(0, sector, "the master boot record", ct).ConfigureAwait(false);
        if (sector[510] != 0x55 || sector[511] != 0xAA) return new PartitionTable(PartitionScheme.None, [], null);

        var entries = new (byte Status, byte Type, uint FirstSector, uint Sectors)[4];
        for (int i = 0; i < 4; i++)
        {
            var e = sector.AsSpan(446 + 16 * i, 16);
            entries[i] = (e[0], e[4], BinaryPrimitives.ReadUInt32LittleEndian(e[8..]), BinaryPrimitives.ReadUInt32LittleEndian(e[12..]));
        }
        if (entries.Any(e => e.Type == 0xEE))
            return new PartitionTable(PartitionScheme.Gpt, await GuidPartitionTable.ReadAsync(disk, ct).ConfigureAwait(false), null);

        long sectors = disk.Length / MbrSectorSize;
        var partitions = new List<Partition>();
        for (int i = 0; i < 4; i++)
        {
            var (status, type, first, count) = entries[i];
            if (type == 0 && first == 0 && count == 0) continue;
            string? problem = status is not (0x00 or 0x80) ? $"status byte 0x{status:x2} is neither 0x00 nor 0x80"
                : type == 0 ? "type 0 (unused) with a location"
                : first == 0 || count == 0 ? $"starts at sector {first} with {count} sectors"
                : first + (long)count > sectors ? $"sectors {first} to {first + (long)count} lie beyond the disk's {sectors} sectors; truncated image?"
                : null;
            if (problem is not null)
                return new PartitionTable(PartitionScheme.None, [], $"sector 0 ends in 55 AA but MBR entry {i + 1} is not valid: {problem}");
            if (type is 0x05 or 0x0F or 0x85)
                await ReadLogicalPartitionsAsync(disk, first, count, partitions, ct).ConfigureAwait(false);
            else
                partitions.Add(new Partition(i + 1, first * (long)MbrSectorSize, count * (long)MbrSectorSize, $"0x{type:x2}", ""));
        }
        if (partitions.Count == 0 && !entries.Any(e => e.Type is 0x05 or 0x0F or 0x85))
            return new PartitionTable(PartitionScheme.None, [], "sector 0 ends in 55 AA but its MBR lists no partitions");
        partitions.Sort((a, b) => a.Number.CompareTo(b.Number));
        return new PartitionTable(PartitionScheme.Mbr, partitions, null);
    }

    /// <summary>Follows the chain of extended boot records; each holds one logical partition and the link to the next.</summary>
    private static async Task ReadLogicalPartitionsAsync(IBlockSource disk, uint extendedStart, uint extendedSectors, List<Partition> partitions, CancellationToken ct)
    {
        var sector = new byte[MbrSectorSize];
        long extendedEnd = extendedStart + (long)extendedSectors;
        long ebr = extendedStart;
        for (int number = 5; ; number++)
        {
            if (number - 4 > MaxLogicalPartitions)
                throw new CorruptFileSystemException($"{disk.Description}: the chain of extended boot records has more than {MaxLogicalPartitions} links (a loop?)");
            await disk.ReadCheckedAsync(ebr * MbrSectorSize, sector, $"the extended boot record of partition {number}", ct).ConfigureAwait(false);
            if (sector[510] != 0x55 || sector[511] != 0xAA)
                throw new CorruptFileSystemException($"{disk.Description}: the extended boot record at sector {ebr} lacks the 55 AA signature");
            uint first = BinaryPrimitives.ReadUInt32LittleEndian(sector.AsSpan(446 + 8));
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(sector.AsSpan(446 + 12));
            byte type = sector[446 + 4];
            if (type != 0 && count != 0)
            {
                long start = ebr + first;
                if (first == 0 || start + count > extendedEnd)
                    throw new CorruptFileSystemException($"{disk.Description}: logical partition {number} (sectors {start} to {start + count}) lies outside its extended partition (sectors {extendedStart} to {extendedEnd})");
                partitions.Add(new Partition(number, start * MbrSectorSize, count * (long)MbrSectorSize, $"0x{type:x2}", ""));
            }
            uint next = BinaryPrimitives.ReadUInt32LittleEndian(sector.AsSpan(446 + 16 + 8));
            byte nextType = sector[446 + 16 + 4];
            if (nextType == 0 || next == 0) return;
            long nextEbr = extendedStart + (long)next;
            // Links only go forward in every tool's layout; insisting on it also rules out loops.
            if (nextEbr <= ebr || nextEbr >= extendedEnd)
                throw new CorruptFileSystemException($"{disk.Description}: the extended boot record at sector {ebr} links to sector {nextEbr}, outside sectors {ebr + 1} to {extendedEnd}");
            ebr = nextEbr;
        }
    }
}
