namespace Strata.Replication;

/// <summary>Live counters of a copy, read by the progress display while it runs.</summary>
public sealed class CopyProgress
{
    private long _bytesRead, _blobsAdded, _bytesAdded, _files;
    private int _snapshotsDone;

    public int SnapshotsToCopy { get; internal set; }
    public int SnapshotsDone => Volatile.Read(ref _snapshotsDone);
    /// <summary>Plaintext bytes read from the source (what had to be downloaded and decrypted).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);
    public long BlobsAdded => Interlocked.Read(ref _blobsAdded);
    /// <summary>Sealed bytes the target's packs grew by (what was sent).</summary>
    public long BytesAdded => Interlocked.Read(ref _bytesAdded);
    public long Files => Interlocked.Read(ref _files);

    internal void AddRead(long bytes) => Interlocked.Add(ref _bytesRead, bytes);
    internal void AddFile() => Interlocked.Increment(ref _files);
    internal void SnapshotDone() => Interlocked.Increment(ref _snapshotsDone);
    internal void SetAdded(long blobs, long bytes)
    {
        Interlocked.Exchange(ref _blobsAdded, blobs);
        Interlocked.Exchange(ref _bytesAdded, bytes);
    }
}
