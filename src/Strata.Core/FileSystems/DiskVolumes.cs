using Strata.Errors;
using Strata.FileSystems.Ext4;

namespace Strata.FileSystems;

/// <summary>
/// Finds the file system to read inside a disk: the partitions of its table (or the whole disk when
/// it has none), each probed for ext2/3/4. One ext4 partition is chosen by itself; with several the
/// caller must name one.
/// </summary>
public static class DiskVolumes
{
    /// <summary>A partition (null <see cref="Partition"/> for a whole unpartitioned disk) and the file system found on it, if any.</summary>
    public sealed record Volume(Partition? Partition, IBlockSource Source, string? FileSystem);

    public static async Task<(PartitionTable Table, List<Volume> Volumes)> ListAsync(IBlockSource disk, CancellationToken ct)
    {
        var table = await PartitionTable.ReadAsync(disk, ct).ConfigureAwait(false);
        var volumes = new List<Volume>();
        if (table.Scheme == PartitionScheme.None)
        {
            volumes.Add(new Volume(null, disk, await ProbeAsync(disk, ct).ConfigureAwait(false)));
            return (table, volumes);
        }
        foreach (var p in table.Partitions)
        {
            var slice = new BlockSourceSlice(disk, p.Start, p.Length, $"{disk.Description}, partition {p.Number}");
            volumes.Add(new Volume(p, slice, await ProbeAsync(slice, ct).ConfigureAwait(false)));
        }
        return (table, volumes);
    }

    /// <summary>
    /// Opens the ext4 file system of partition <paramref name="partition"/>, or of the only partition
    /// (or whole disk) that holds one when it is null.
    /// </summary>
    public static async Task<(Ext4FileSystem FileSystem, Partition? Partition)> OpenExt4Async(IBlockSource disk, int? partition, CancellationToken ct)
    {
        var (table, volumes) = await ListAsync(disk, ct).ConfigureAwait(false);
        Volume chosen;
        if (partition is int number)
        {
            if (table.Scheme == PartitionScheme.None)
                throw new UsageException($"{disk.Description} has no partition table{Note(table)}; leave out --partition to read the whole disk");
            chosen = volumes.FirstOrDefault(v => v.Partition!.Number == number)
                ?? throw new UsageException($"{disk.Description} has no partition {number} (it has {Describe(volumes)})");
        }
        else
        {
            var ext4 = volumes.Where(v => v.FileSystem == "ext4").ToList();
            if (ext4.Count == 0)
                throw new UsageException(table.Scheme == PartitionScheme.None
                    ? $"{disk.Description}: no partition table and no ext2/3/4 file system at its start{Note(table)}"
                    : $"{disk.Description}: none of its partitions holds an ext2/3/4 file system ({Describe(volumes)})");
            if (ext4.Count > 1)
                throw new UsageException($"{disk.Description} has {ext4.Count} ext4 partitions ({Describe(ext4)}); choose one with --partition N");
            chosen = ext4[0];
        }
        return (await Ext4FileSystem.OpenAsync(chosen.Source, ct).ConfigureAwait(false), chosen.Partition);
    }

    private static async Task<string?> ProbeAsync(IBlockSource volume, CancellationToken ct) =>
        await Ext4FileSystem.ProbeAsync(volume, ct).ConfigureAwait(false) ? "ext4" : null;

    private static string Note(PartitionTable table) => table.SectorZeroNote is string note ? $" ({note})" : "";

    private static string Describe(IEnumerable<Volume> volumes) =>
        string.Join(", ", volumes.Select(v => $"{v.Partition?.Number}: {v.FileSystem ?? "type " + v.Partition?.Type}, {Size(v.Source.Length)}"));

    private static string Size(long bytes) =>
        bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.#} GiB" : bytes >= 1L << 20 ? $"{bytes / (double)(1L << 20):0.#} MiB" : $"{bytes} bytes";
}
