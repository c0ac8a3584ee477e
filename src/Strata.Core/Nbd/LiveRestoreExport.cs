using System.Buffers;
using Strata.Errors;
using Strata.Images;

namespace Strata.Nbd;

/// <summary>
/// A restore target served while it is being filled (<c>strata image restore --live</c>): a new
/// sparse raw file, and for every block whether it is still missing, restored from the recovery
/// point, or written by a client. A read of a missing block fetches and stores it first; a partial
/// write to a missing block restores it first and then applies the write; a whole-block write
/// just stores it. The background copy (<see cref="CopyAsync"/>) restores the blocks still missing;
/// both go through the block's lock, so a client's write is never overwritten by the copy. When the
/// copy is done the file is the recovery point byte for byte plus the clients' writes.
/// </summary>
public sealed class LiveRestoreExport : NbdExport
{
    private const byte Missing = 0, Restored = 1, Written = 2;
    private const int LockStripes = 256;
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, LockStripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly SnapshotImageReader _reader;
    private readonly FileStream _target;
    private readonly byte[] _states;
    private long _restoredBytes;

    private LiveRestoreExport(string name, SnapshotImageReader reader, FileStream target)
    {
        Name = name;
        _reader = reader;
        _target = target;
        var map = reader.Map;
        _states = new byte[map.BlockCount];
        // A new sparse file already reads as zeros: zero blocks are restored from the start.
        for (int b = 0; b < map.BlockCount; b++)
            if (map.Blocks[b].IsZero) { _states[b] = Restored; _restoredBytes += map.LengthOf(b); }
    }

    /// <summary>Creates the target file (never an existing one) for the recovery point read by <paramref name="reader"/>.</summary>
    public static LiveRestoreExport Create(string name, SnapshotImageReader reader, string targetPath)
    {
        var file = NewSparseFile.Create(targetPath, reader.Size, targetPath,
            $"{targetPath} already exists: a live restore writes a new file (remove it, or use --incremental without --live)");
        return new LiveRestoreExport(name, reader, file);
    }

    public override string Name { get; }
    public SnapshotImageReader Reader => _reader;
    public override long Size => _reader.Size;
    public override bool IsWritable => true;
    public override int BlockSize => Map.BlockSize;
    private BlockMap Map => _reader.Map;

    /// <summary>Bytes of the image that are in the target (restored or overwritten by a client).</summary>
    public long BytesDone => Interlocked.Read(ref _restoredBytes);

    /// <summary>Blocks clients have written.</summary>
    public int WrittenBlocks => _states.Count(s => s == Written);

    public bool IsComplete => BytesDone == Size;

    private byte StateOf(int block) => Volatile.Read(ref _states[block]);

    /// <summary>Restores every missing block, <paramref name="concurrency"/> at a time, in disk order.</summary>
    public Task CopyAsync(int concurrency, CancellationToken ct) =>
        Parallel.ForEachAsync(Enumerable.Range(0, Map.BlockCount).Where(b => StateOf(b) == Missing),
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct },
            async (block, token) => await EnsureAsync(block, token).ConfigureAwait(false));

    /// <summary>Makes sure the target holds the block (restoring it from the recovery point if still missing).</summary>
    private async Task EnsureAsync(int block, CancellationToken ct)
    {
        if (StateOf(block) != Missing) return;
        var gate = _locks[block % LockStripes];
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (StateOf(block) != Missing) return;
            var data = await _reader.BlockAsync(block, ct).ConfigureAwait(false);
            RandomAccess.Write(_target.SafeFileHandle, data, Map.OffsetOf(block));
            MarkDone(block, Restored);
        }
        finally
        {
            gate.Release();
        }
    }

    private void MarkDone(int block, byte state)
    {
        if (Interlocked.Exchange(ref _states[block], state) == Missing) Interlocked.Add(ref _restoredBytes, Map.LengthOf(block));
    }

    public override bool IsHole(long offset, int length)
    {
        if (length == 0) return false;
        for (int b = (int)(offset / BlockSize), last = (int)((offset + length - 1) / BlockSize); b <= last; b++)
            if (AllocationFlags(b) == 0) return false;
        return true;
    }

    public override uint AllocationFlags(int block) =>
        StateOf(block) == Restored && Map.Blocks[block].IsZero ? NbdMetaContexts.StateHole | NbdMetaContexts.StateZero : 0;

    public override async Task ReadAsync(long offset, Memory<byte> destination, CancellationToken ct)
    {
        // Blocks the client wants come first: fetched now, whatever the background copy is doing.
        for (int b = (int)(offset / BlockSize), last = (int)((offset + destination.Length - 1) / BlockSize); b <= last; b++)
            await EnsureAsync(b, ct).ConfigureAwait(false);
        RandomAccess.Read(_target.SafeFileHandle, destination.Span, offset);
    }

    public override async Task WriteAsync(long offset, ReadOnlyMemory<byte>? data, long length, CancellationToken ct)
    {
        long end = offset + length;
        while (offset < end)
        {
            int block = (int)(offset / BlockSize);
            long blockStart = Map.OffsetOf(block);
            int within = (int)(offset - blockStart);
            int n = (int)Math.Min(end - offset, Map.LengthOf(block) - within);
            bool whole = n == Map.LengthOf(block);
            // A partial write lands on the restored block; a whole one replaces it.
            if (!whole) await EnsureAsync(block, ct).ConfigureAwait(false);
            var gate = _locks[block % LockStripes];
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (data is { } d) RandomAccess.Write(_target.SafeFileHandle, d.Span.Slice((int)(length - (end - offset)), n), offset);
                else WriteZeros(offset, n);
                MarkDone(block, Written);
            }
            finally
            {
                gate.Release();
            }
            offset += n;
        }
    }

    private void WriteZeros(long offset, int n)
    {
        var zeros = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            zeros.AsSpan(0, n).Clear();
            RandomAccess.Write(_target.SafeFileHandle, zeros.AsSpan(0, n), offset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(zeros);
        }
    }

    /// <summary>Ignored: the target must end up a full restore, and TRIM is advisory.</summary>
    public override Task TrimAsync(long offset, long length, CancellationToken ct) => Task.CompletedTask;

    public override void Flush() => _target.Flush(flushToDisk: true);

    public override void Dispose() => _target.Dispose();
}
