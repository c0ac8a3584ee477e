namespace Strata.Restore;

public sealed record RestoreResult
{
    public long FilesRestored { get; init; }
    public long FilesUnchanged { get; init; }
    public long DirectoriesRestored { get; init; }
    public long EntriesDeleted { get; init; }
    public long BytesRead { get; init; }
    public long BytesWritten { get; init; }
    public long TotalBytes { get; init; }
    public long FilesVerified { get; init; }
    public IReadOnlyList<string> Errors { get; init; } = [];
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public TimeSpan Duration { get; init; }
}
