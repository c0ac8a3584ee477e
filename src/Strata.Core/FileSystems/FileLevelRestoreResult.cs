namespace Strata.FileSystems;

/// <summary>What a <see cref="FileLevelRestore"/> did; <see cref="Errors"/> lists what could not be restored (damaged entries, failed writes).</summary>
public sealed record FileLevelRestoreResult(
    long Files,
    long Directories,
    long Symlinks,
    long Specials,
    long BytesWritten,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> Warnings,
    TimeSpan Elapsed);
