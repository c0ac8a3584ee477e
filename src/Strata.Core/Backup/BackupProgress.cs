namespace Strata.Backup;

/// <summary>
/// Live counters of a running backup, updated by the workers and read by whoever shows progress.
/// Totals come from a separate scan and may lag behind; they are only for the ETA.
/// </summary>
public sealed class BackupProgress
{
    private long _filesDone, _bytesDone, _filesTotal, _bytesTotal, _errors;
    private int _scanFinished;

    public long FilesDone => Interlocked.Read(ref _filesDone);
    public long BytesDone => Interlocked.Read(ref _bytesDone);
    public long FilesTotal => Interlocked.Read(ref _filesTotal);
    public long BytesTotal => Interlocked.Read(ref _bytesTotal);
    public long ErrorCount => Interlocked.Read(ref _errors);
    public bool ScanFinished => Volatile.Read(ref _scanFinished) == 1;
    public string? CurrentFile { get; set; }

    internal void AddBytes(long bytes) => Interlocked.Add(ref _bytesDone, bytes);
    internal void FileDone() => Interlocked.Increment(ref _filesDone);
    internal void Error() => Interlocked.Increment(ref _errors);
    internal void Scanned(long files, long bytes)
    {
        Interlocked.Add(ref _filesTotal, files);
        Interlocked.Add(ref _bytesTotal, bytes);
    }
    internal void FinishScan() => Volatile.Write(ref _scanFinished, 1);
}
