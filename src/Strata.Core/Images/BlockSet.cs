using System.Numerics;

namespace Strata.Images;

/// <summary>
/// A set of block numbers of one image, as a bitmap: the shape CBT data has (qemu's dirty bitmaps
/// are bitmaps too), cheap to union and to turn back into extents.
/// </summary>
public sealed class BlockSet
{
    private readonly ulong[] _words;

    public BlockSet(int blockCount)
    {
        BlockCount = blockCount;
        _words = new ulong[(blockCount + 63) / 64];
    }

    public int BlockCount { get; }

    public bool Contains(int block) => (_words[block >> 6] & (1UL << block)) != 0;

    public void Add(int block) => _words[block >> 6] |= 1UL << block;

    public void Remove(int block) => _words[block >> 6] &= ~(1UL << block);

    /// <summary><see cref="Add"/> for many threads at once.</summary>
    public void AddConcurrent(int block) => Interlocked.Or(ref _words[block >> 6], 1UL << block);

    public void AddRange(int first, int count)
    {
        for (int b = first; b < first + count; b++) Add(b);
    }

    /// <summary>Adds every block that a byte extent touches (extents are rounded out to whole blocks).</summary>
    public void AddBytes(ImageExtent extent, int blockSize)
    {
        if (extent.Length <= 0) return;
        long first = extent.Offset / blockSize;
        long last = Math.Min(BlockCount - 1, (extent.End - 1) / blockSize);
        for (long b = first; b <= last; b++) Add((int)b);
    }

    public void UnionWith(BlockSet other)
    {
        if (other.BlockCount != BlockCount) throw new ArgumentException("block sets of different images");
        for (int i = 0; i < _words.Length; i++) _words[i] |= other._words[i];
    }

    public int Count
    {
        get
        {
            int n = 0;
            foreach (var w in _words) n += BitOperations.PopCount(w);
            return n;
        }
    }

    /// <summary>The blocks in ascending order.</summary>
    public IEnumerable<int> Blocks()
    {
        for (int i = 0; i < _words.Length; i++)
        {
            ulong w = _words[i];
            while (w != 0)
            {
                int bit = BitOperations.TrailingZeroCount(w);
                yield return i * 64 + bit;
                w &= w - 1;
            }
        }
    }

    /// <summary>The set as byte extents of an image of <paramref name="imageSize"/> bytes, adjacent blocks merged.</summary>
    public List<ImageExtent> ToExtents(int blockSize, long imageSize)
    {
        var extents = new List<ImageExtent>();
        foreach (int b in Blocks())
        {
            long start = (long)b * blockSize;
            long end = Math.Min(imageSize, start + blockSize);
            if (extents.Count > 0 && extents[^1].End == start)
                extents[^1] = new ImageExtent(extents[^1].Offset, end - extents[^1].Offset);
            else
                extents.Add(new ImageExtent(start, end - start));
        }
        return extents;
    }
}
