namespace Strata.Images;

/// <param name="Mode">"full", "incremental-cbt" (stored changed-extent lists and the target's bitmap) or "incremental-hash" (the target was read and hashed).</param>
/// <param name="BytesFetched">Stored bytes read from the repository.</param>
/// <param name="BytesWritten">Data bytes written to the target (zeroed ranges not counted; see <paramref name="BytesZeroed"/>).</param>
/// <param name="TargetBytesRead">Bytes of the target read to compare it (hash mode).</param>
public sealed record ImageRestoreResult(string Mode, long BytesTotal, long BytesFetched, long BytesWritten, long BytesZeroed, long TargetBytesRead,
    int BlocksConsidered, TimeSpan Duration, IReadOnlyList<string> Notes);
