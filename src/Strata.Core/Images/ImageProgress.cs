namespace Strata.Images;

/// <summary>Live counters of an image backup or restore, read by the progress line.</summary>
public sealed class ImageProgress
{
    private long _done, _total;
    public long BytesDone => Interlocked.Read(ref _done);
    public long BytesTotal => Interlocked.Read(ref _total);
    internal void Add(long bytes) => Interlocked.Add(ref _done, bytes);
    internal void Set(long bytes) => Interlocked.Exchange(ref _done, bytes);
    internal void SetTotal(long bytes) => Interlocked.Exchange(ref _total, bytes);
}
