namespace Strata.Check;

public sealed record CheckResult
{
    public List<string> Errors { get; } = new();
    public List<string> Warnings { get; } = new();
    public List<string> DamagedPacks { get; } = new();
    public List<AffectedSnapshot> AffectedSnapshots { get; } = new();
    public long Snapshots { get; set; }
    public long Trees { get; set; }
    public long Packs { get; set; }
    public long BlobsRead { get; set; }
    public int PacksRead { get; set; }
    public long BytesRead { get; set; }
    public bool Ok => Errors.Count == 0;
}

/// <summary>A snapshot that references damaged or missing data, with (some of) the paths that are lost.</summary>
public sealed record AffectedSnapshot(string Id, DateTimeOffset Time, string Host, IReadOnlyList<string> DamagedPaths, long DamagedPathCount);
