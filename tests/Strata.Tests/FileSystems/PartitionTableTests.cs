using Strata.FileSystems;
using Strata.Errors;

namespace Strata.Tests.FileSystems;

public sealed class PartitionTableTests
{
    [Fact]
    public async Task A_gpt_disk_made_by_parted_lists_its_partitions_and_restores_from_the_ext4_one()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        string disk = DiskImages.Gpt(image.Combine("disk.img"), image.Image);
        // "2:9437184B:82837503B:73400320B::root:;" in parted's machine-readable listing.
        var parted = ExternalTool.Run("parted", "-s", "-m", disk, "unit", "B", "print").Split('\n')
            .Where(l => l.Length > 0 && char.IsDigit(l[0])).Select(l => l.Split(':')).ToList();

        using (var source = FileBlockSource.Open(disk))
        {
            var table = await PartitionTable.ReadAsync(source, default);
            Assert.Equal(PartitionScheme.Gpt, table.Scheme);
            Assert.Equal(parted.Count, table.Partitions.Count);
            foreach (var (p, fields) in table.Partitions.Zip(parted))
            {
                Assert.Equal(int.Parse(fields[0]), p.Number);
                Assert.Equal(long.Parse(fields[1].TrimEnd('B')), p.Start);
                Assert.Equal(long.Parse(fields[3].TrimEnd('B')), p.Length);
                Assert.Equal(fields[5], p.Name);
            }
            Assert.Equal(Partition.LinuxGptType, table.Partitions[1].Type);
        }

        await image.AssertRestoresIdenticalAsync(image: disk);
    }

    [Fact]
    public async Task An_mbr_disk_made_by_sfdisk_finds_ext4_in_a_logical_partition()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        string disk = DiskImages.Mbr(image.Combine("disk.img"), image.Image);

        using (var source = FileBlockSource.Open(disk))
        {
            var table = await PartitionTable.ReadAsync(source, default);
            Assert.Equal(PartitionScheme.Mbr, table.Scheme);
            Assert.Equal([1, 5, 6], table.Partitions.Select(p => p.Number));
            Assert.Equal(20480 * 512L, table.Partitions[1].Start);
            Assert.Equal(143360 * 512L, table.Partitions[1].Length);
            Assert.Equal("0x83", table.Partitions[1].Type);
        }

        await image.AssertRestoresIdenticalAsync(image: disk);
    }

    [Fact]
    public async Task A_damaged_primary_gpt_header_falls_back_to_the_backup_at_the_end_of_the_disk()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        string disk = DiskImages.Gpt(image.Combine("disk.img"), image.Image);
        DiskImages.FlipByte(disk, 512 + 40); // first usable LBA, covered by the header CRC

        using (var source = FileBlockSource.Open(disk))
            Assert.Equal(2, (await PartitionTable.ReadAsync(source, default)).Partitions.Count);
        await image.AssertRestoresIdenticalAsync(image: disk);
    }

    [Fact]
    public async Task Damaged_primary_and_backup_gpt_headers_give_a_clear_error()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        string disk = DiskImages.Gpt(image.Combine("disk.img"), image.Image);
        DiskImages.FlipByte(disk, 512 + 40);
        DiskImages.FlipByte(disk, new FileInfo(disk).Length - 512 + 40);

        using var source = FileBlockSource.Open(disk);
        var e = await Assert.ThrowsAsync<CorruptFileSystemException>(() => PartitionTable.ReadAsync(source, default));
        Assert.Contains("damaged GPT (primary header: header CRC-32", e.Message);
        Assert.Contains("backup header at LBA", e.Message);
    }

    [Fact]
    public async Task A_damaged_gpt_entry_array_is_detected_by_its_crc()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        string disk = DiskImages.Gpt(image.Combine("disk.img"), image.Image);
        DiskImages.FlipByte(disk, 1024 + 128 + 33); // entry 2's first LBA
        DiskImages.FlipByte(disk, new FileInfo(disk).Length - 33 * 512 + 128 + 33);

        using var source = FileBlockSource.Open(disk);
        var e = await Assert.ThrowsAsync<CorruptFileSystemException>(() => PartitionTable.ReadAsync(source, default));
        Assert.Contains("entry array CRC-32", e.Message);
    }

    [Fact]
    public async Task With_two_ext4_partitions_the_caller_must_choose_one()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        using var other = new Ext4TestImage(withHugeFile: false, options: ["-L", "second"]);
        string disk = DiskImages.Mbr(image.Combine("disk.img"), image.Image, other.Image);

        using (var source = FileBlockSource.Open(disk))
        {
            var e = await Assert.ThrowsAsync<UsageException>(() => DiskVolumes.OpenExt4Async(source, null, default));
            Assert.Contains("2 ext4 partitions", e.Message);
            Assert.Contains("--partition", e.Message);
            var (fs, partition) = await DiskVolumes.OpenExt4Async(source, 6, default);
            Assert.Equal("second", fs.Superblock.VolumeName);
            Assert.Equal(6, partition!.Number);
            var missing = await Assert.ThrowsAsync<UsageException>(() => DiskVolumes.OpenExt4Async(source, 3, default));
            Assert.Contains("no partition 3", missing.Message);
        }
        await image.AssertRestoresIdenticalAsync(image: disk, partition: 5);
    }

    [Fact]
    public async Task An_mbr_partition_beyond_the_end_of_a_truncated_disk_is_named()
    {
        using var image = new Ext4TestImage(withHugeFile: false);
        string disk = DiskImages.Mbr(image.Combine("disk.img"), image.Image);
        using (var f = new FileStream(disk, FileMode.Open)) f.SetLength(10 << 20);

        using var source = FileBlockSource.Open(disk);
        var e = await Assert.ThrowsAsync<UsageException>(() => DiskVolumes.OpenExt4Async(source, null, default));
        Assert.Contains("MBR entry 2 is not valid: sectors 18432 to 327680 lie beyond the disk's 20480 sectors; truncated image?", e.Message);
    }

    [Fact]
    public async Task A_disk_without_partition_table_or_ext4_says_so()
    {
        using var folder = new Strata.Tests.TestSupport.TempFolder("disk");
        string disk = folder.Combine("zeros.img");
        ExternalTool.Run("truncate", "-s", "4M", disk);

        using var source = FileBlockSource.Open(disk);
        var e = await Assert.ThrowsAsync<UsageException>(() => DiskVolumes.OpenExt4Async(source, null, default));
        Assert.Contains("no partition table and no ext2/3/4 file system", e.Message);
    }
}
