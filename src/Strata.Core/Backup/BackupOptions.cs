using Strata.Filtering;

namespace Strata.Backup;

public sealed record BackupOptions
{
    public required IReadOnlyList<string> Paths { get; init; }
    public PathPatternSet Excludes { get; init; } = new([]);
    public IReadOnlyList<string> ExcludePatterns { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string Host { get; init; } = Environment.MachineName;
    /// <summary>Snapshot to compare against; null picks the latest with the same host and paths.</summary>
    public string? Parent { get; init; }
    /// <summary>Read every file even when its metadata says it is unchanged.</summary>
    public bool Force { get; init; }
    /// <summary>Count files and bytes up front in a parallel scan, for a progress ETA; costs a second walk.</summary>
    public bool EstimateTotals { get; init; }
    public int Workers { get; init; } = Math.Max(2, Environment.ProcessorCount);
}
