namespace Strata.Images;

/// <summary>Adjacent blocks read or written with one request.</summary>
public readonly record struct BlockRun(int First, int Count)
{
    /// <summary>Splits ascending block numbers into runs of adjacent blocks, each at most <paramref name="maxCount"/> long.</summary>
    public static List<BlockRun> Split(IEnumerable<int> ascendingBlocks, int maxCount)
    {
        var runs = new List<BlockRun>();
        int first = -1, count = 0;
        foreach (int b in ascendingBlocks)
        {
            if (count > 0 && (b != first + count || count == maxCount))
            {
                runs.Add(new BlockRun(first, count));
                count = 0;
            }
            if (count == 0) first = b;
            count++;
        }
        if (count > 0) runs.Add(new BlockRun(first, count));
        return runs;
    }
}
