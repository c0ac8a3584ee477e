using System.Globalization;
using Strata.Errors;
using Strata.Repository;

namespace Strata.Check;

/// <summary>
/// Which packs a partial <c>check --read-data-subset</c> reads, so a schedule can re-read all data
/// over a period: "N/M" reads the N-th of M fixed groups (a pack belongs to group id[0] mod M + 1,
/// so running 1/M … M/M reads every pack exactly once), "P%" a random P percent of the packs.
/// </summary>
public sealed record ReadDataSubset(int Group, int Groups, double Fraction)
{
    public static ReadDataSubset Parse(string text)
    {
        var t = text.Trim();
        if (t.EndsWith('%'))
        {
            if (double.TryParse(t[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 100)
                return new ReadDataSubset(0, 0, p / 100);
        }
        else if (t.Split('/') is [var n, var m]
                 && int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var group)
                 && int.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out var groups)
                 && groups is >= 1 and <= 256 && group >= 1 && group <= groups)
        {
            return new ReadDataSubset(group, groups, 0);
        }
        throw new UsageException($"--read-data-subset: '{text}' is not N/M (1 ≤ N ≤ M ≤ 256, e.g. 3/7) or a percentage (e.g. 10%)");
    }

    public List<BlobId> Select(IReadOnlyList<BlobId> packs, Random? random = null)
    {
        if (Groups > 0) return packs.Where(p => p.FirstByte % Groups == Group - 1).ToList();
        int count = (int)Math.Ceiling(packs.Count * Fraction);
        return packs.OrderBy(_ => (random ?? Random.Shared).Next()).Take(count).ToList();
    }

    public override string ToString() => Groups > 0 ? $"{Group}/{Groups}" : $"{Fraction * 100:0.##}%";
}
