using Microsoft.Win32.SafeHandles;
using Strata.Errors;

namespace Strata.Nbd;

/// <summary>
/// A local sparse file, the size of the image, that takes the writes made to a served recovery
/// point, one image block at a time: a block a client writes is copied in whole (the recovery
/// point's content merged with the write) and from then on read from here. The repository is
/// never written. Which blocks the overlay holds is kept in memory for the life of the server; the
/// file keeps the written blocks at their image offsets.
/// </summary>
public sealed class CopyOnWriteOverlay : IDisposable
{
    public enum BlockState : byte
    {
        /// <summary>Not written: read from the recovery point.</summary>
        Base = 0,
        /// <summary>Written: the overlay file holds the block.</summary>
        Data = 1,
        /// <summary>Zeroed or trimmed: reads as zeros, nothing stored.</summary>
        Zero = 2,
    }

    private readonly FileStream _file;
    private readonly byte[] _states;
    private readonly bool _deleteOnDispose;

    private CopyOnWriteOverlay(FileStream file, string path, int blockSize, int blockCount, bool deleteOnDispose)
    {
        _file = file;
        Path = path;
        BlockSize = blockSize;
        _states = new byte[blockCount];
        _deleteOnDispose = deleteOnDispose;
    }

    public string Path { get; }
    public int BlockSize { get; }

    /// <summary>Creates a new overlay file; an existing file is never overwritten (it may hold someone's writes).</summary>
    public static CopyOnWriteOverlay Create(string path, long imageSize, int blockSize, int blockCount, bool deleteOnDispose)
    {
        var file = NewSparseFile.Create(path, imageSize, $"overlay file {path}",
            $"overlay file {path} already exists: give a new path, or remove it if its writes are no longer wanted");
        return new CopyOnWriteOverlay(file, path, blockSize, blockCount, deleteOnDispose);
    }

    private SafeFileHandle Handle => _file.SafeFileHandle;

    public BlockState StateOf(int block) => (BlockState)Volatile.Read(ref _states[block]);

    /// <summary>Number of blocks the overlay holds (written or zeroed).</summary>
    public int ChangedBlocks => _states.Count(s => s != (byte)BlockState.Base);

    public void Read(long offset, Span<byte> destination)
    {
        int n = RandomAccess.Read(Handle, destination, offset);
        // Short only at the end of the file, which is the image's end: never for valid requests.
        if (n != destination.Length) destination[n..].Clear();
    }

    /// <summary>Stores a whole block; it then reads from the overlay.</summary>
    public void WriteBlock(int block, long offset, ReadOnlySpan<byte> data)
    {
        RandomAccess.Write(Handle, data, offset);
        Volatile.Write(ref _states[block], (byte)BlockState.Data);
    }

    /// <summary>Stores a part of a block the overlay already holds.</summary>
    public void WriteWithin(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(Handle, data, offset);

    public void MarkZero(int block) => Volatile.Write(ref _states[block], (byte)BlockState.Zero);

    public void Flush() => _file.Flush(flushToDisk: true);

    public void Dispose()
    {
        _file.Dispose();
        if (_deleteOnDispose)
        {
            try { File.Delete(Path); } catch (IOException) { }
        }
    }
}
