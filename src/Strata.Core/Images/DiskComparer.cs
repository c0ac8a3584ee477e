using Strata.Crypto;

namespace Strata.Images;

/// <summary>Compares a disk with a block map by reading and hashing the disk locally (the repository is not read).</summary>
public static class DiskComparer
{
    /// <summary>
    /// The blocks whose content on <paramref name="device"/> differs from <paramref name="map"/>.
    /// Regions the disk reports as holes count as zeros and are not read.
    /// </summary>
    public static async Task<BlockSet> DifferingBlocksAsync(MasterKey key, IBlockDevice device, BlockMap map, Action<long>? onRead, CancellationToken ct)
    {
        var differs = new BlockSet(map.BlockCount);
        var toRead = new BlockSet(map.BlockCount);
        long readable = Math.Min(device.Size, map.ImageSize);
        foreach (var e in await device.DataExtentsAsync(ct).ConfigureAwait(false))
        {
            if (e.Offset >= readable) break;
            toRead.AddBytes(new ImageExtent(e.Offset, Math.Min(e.Length, readable - e.Offset)), map.BlockSize);
        }
        for (int b = 0; b < map.BlockCount; b++)
        {
            bool beyondDisk = map.OffsetOf(b) + map.LengthOf(b) > device.Size;
            if (beyondDisk) { toRead.Remove(b); differs.Add(b); }
            else if (!toRead.Contains(b) && !map.Blocks[b].IsZero) differs.Add(b);
        }
        await BlockRunReader.ReadAsync(device, toRead, map.BlockSize, map.ImageSize, (block, data) =>
        {
            var id = data.IndexOfAnyExcept((byte)0) < 0 ? default : key.ComputeBlobId(data);
            if (id != map.Blocks[block]) differs.AddConcurrent(block);
        }, onRead, ct).ConfigureAwait(false);
        return differs;
    }
}
