using System.Buffers;
using Strata.Images;

namespace Strata.Nbd;

/// <summary>
/// What the NBD server serves: an image recovery point, read through a <see cref="SnapshotImageReader"/>,
/// and, when writable, a <see cref="CopyOnWriteOverlay"/> on top that takes every write. Requests
/// from all connections may run at once; a block's copy-on-write (read, merge, store) runs under
/// that block's lock so two partial writes to one block never lose each other.
/// </summary>
public sealed class SnapshotExport : NbdExport
{
    private const int LockStripes = 256;
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, LockStripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly CopyOnWriteOverlay? _overlay;

    public SnapshotExport(string name, SnapshotImageReader reader, CopyOnWriteOverlay? overlay)
    {
        Name = name;
        Reader = reader;
        _overlay = overlay;
    }

    public override string Name { get; }
    public SnapshotImageReader Reader { get; }
    public CopyOnWriteOverlay? Overlay => _overlay;
    public override long Size => Reader.Size;
    public override bool IsWritable => _overlay is not null;
    private BlockMap Map => Reader.Map;

    private CopyOnWriteOverlay.BlockState StateOf(int block) => _overlay?.StateOf(block) ?? CopyOnWriteOverlay.BlockState.Base;

    /// <summary>Whether [offset, +length) reads as zeros without fetching anything (unwritten zero blocks or zeroed blocks).</summary>
    public override bool IsHole(long offset, int length)
    {
        if (length == 0) return false;
        int first = (int)(offset / Map.BlockSize), last = (int)((offset + length - 1) / Map.BlockSize);
        for (int b = first; b <= last; b++)
        {
            var state = StateOf(b);
            if (state == CopyOnWriteOverlay.BlockState.Data || (state == CopyOnWriteOverlay.BlockState.Base && !Map.Blocks[b].IsZero)) return false;
        }
        return true;
    }

    public override async Task ReadAsync(long offset, Memory<byte> destination, CancellationToken ct)
    {
        while (destination.Length > 0)
        {
            int block = (int)(offset / Map.BlockSize);
            int n = (int)Math.Min(destination.Length, Map.OffsetOf(block) + Map.LengthOf(block) - offset);
            switch (StateOf(block))
            {
                case CopyOnWriteOverlay.BlockState.Data: _overlay!.Read(offset, destination.Span[..n]); break;
                case CopyOnWriteOverlay.BlockState.Zero: destination.Span[..n].Clear(); break;
                default:
                    // A write may move the block into the overlay while its old content is read: both are valid answers to a racing read.
                    await Reader.ReadAsync(offset, destination[..n], ct).ConfigureAwait(false);
                    break;
            }
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>Writes <paramref name="data"/> (or zeros when null) at <paramref name="offset"/> into the overlay.</summary>
    public override async Task WriteAsync(long offset, ReadOnlyMemory<byte>? data, long length, CancellationToken ct)
    {
        var overlay = _overlay ?? throw new InvalidOperationException("the export is read-only");
        long end = offset + length;
        while (offset < end)
        {
            int block = (int)(offset / Map.BlockSize);
            long blockStart = Map.OffsetOf(block);
            int blockLength = Map.LengthOf(block);
            int within = (int)(offset - blockStart);
            int n = (int)Math.Min(end - offset, blockLength - within);
            var part = data?.Slice((int)(length - (end - offset)), n);
            var gate = _locks[block % LockStripes];
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var state = overlay.StateOf(block);
                if (n == blockLength && part is null) overlay.MarkZero(block);
                else if (n == blockLength) overlay.WriteBlock(block, blockStart, part!.Value.Span);
                else if (state == CopyOnWriteOverlay.BlockState.Data)
                {
                    if (part is { } p) overlay.WriteWithin(offset, p.Span);
                    else WriteZerosWithin(overlay, offset, n);
                }
                else
                {
                    // Copy on write: the block's current content, merged with the write, stored whole.
                    var buffer = ArrayPool<byte>.Shared.Rent(blockLength);
                    try
                    {
                        var whole = buffer.AsMemory(0, blockLength);
                        if (state == CopyOnWriteOverlay.BlockState.Zero || Map.Blocks[block].IsZero) whole.Span.Clear();
                        else (await Reader.BlockAsync(block, ct).ConfigureAwait(false)).CopyTo(whole);
                        if (part is { } p) p.Span.CopyTo(whole.Span[within..]);
                        else whole.Span.Slice(within, n).Clear();
                        overlay.WriteBlock(block, blockStart, whole.Span);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }
            finally
            {
                gate.Release();
            }
            offset += n;
        }
    }

    /// <summary>Discards whole blocks inside the range (they read as zeros after); partial blocks are left, as TRIM is advisory.</summary>
    public override async Task TrimAsync(long offset, long length, CancellationToken ct)
    {
        var overlay = _overlay ?? throw new InvalidOperationException("the export is read-only");
        long firstFull = (offset + Map.BlockSize - 1) / Map.BlockSize;
        for (long b = firstFull; b < Map.BlockCount && Map.OffsetOf((int)b) + Map.LengthOf((int)b) <= offset + length; b++)
        {
            var gate = _locks[b % LockStripes];
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try { overlay.MarkZero((int)b); }
            finally { gate.Release(); }
        }
    }

    public override void Flush() => _overlay?.Flush();

    private static void WriteZerosWithin(CopyOnWriteOverlay overlay, long offset, int n)
    {
        var zeros = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            zeros.AsSpan(0, n).Clear();
            overlay.WriteWithin(offset, zeros.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(zeros);
        }
    }

    /// <summary>base:allocation flags of the block holding <paramref name="offset"/>: hole+zero for blocks that read as zeros without data.</summary>
    public override uint AllocationFlags(int block) => StateOf(block) switch
    {
        CopyOnWriteOverlay.BlockState.Data => 0,
        CopyOnWriteOverlay.BlockState.Zero => NbdMetaContexts.StateHole | NbdMetaContexts.StateZero,
        _ => Map.Blocks[block].IsZero ? NbdMetaContexts.StateHole | NbdMetaContexts.StateZero : 0,
    };

    public override int BlockSize => Map.BlockSize;

    public override void Dispose() => _overlay?.Dispose();
}
