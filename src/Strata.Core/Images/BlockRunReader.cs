using System.Threading.Channels;
using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// Reads a set of blocks from a disk in runs of adjacent blocks (up to 4 MiB per request, in disk
/// order, <see cref="IBlockDevice.ReadConcurrency"/> requests at a time) and hands each block to
/// workers on every core: reading overlaps with hashing, compressing and encrypting. Buffers are pooled.
/// </summary>
internal static class BlockRunReader
{
    public const int RunBytes = 4 << 20;

    public delegate void BlockAction(int block, ReadOnlySpan<byte> data);

    private readonly record struct Run(int FirstBlock, int Count, byte[] Buffer, int Length);

    public static async Task ReadAsync(IBlockDevice device, BlockSet blocks, int blockSize, long imageSize, BlockAction action, Action<long>? onRead, CancellationToken ct)
    {
        int workers = Math.Max(1, Environment.ProcessorCount);
        int runBlocks = Math.Max(1, RunBytes / blockSize);
        var pool = new BufferPool(runBlocks * blockSize, workers + 3 + device.ReadConcurrency);
        var channel = Channel.CreateBounded<Run>(new BoundedChannelOptions(workers + 1));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var consumers = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            try
            {
                await foreach (var run in channel.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    try
                    {
                        for (int i = 0; i < run.Count; i++)
                        {
                            int start = i * blockSize;
                            int length = Math.Min(blockSize, run.Length - start);
                            action(run.FirstBlock + i, run.Buffer.AsSpan(start, length));
                        }
                    }
                    finally
                    {
                        pool.Return(run.Buffer);
                    }
                }
            }
            catch
            {
                stop.Cancel();
                throw;
            }
        }, CancellationToken.None)).ToArray();

        // The runs, in disk order; readers (one per connection or so) take the next one each.
        var runs = BlockRun.Split(blocks.Blocks(), runBlocks);
        int next = -1;
        var readers = Enumerable.Range(0, Math.Max(1, device.ReadConcurrency)).Select(_ => Task.Run(async () =>
        {
            try
            {
                for (int i = Interlocked.Increment(ref next); i < runs.Count; i = Interlocked.Increment(ref next))
                    await ReadRunAsync(runs[i].First, runs[i].Count).ConfigureAwait(false);
            }
            catch
            {
                stop.Cancel();
                throw;
            }
        }, CancellationToken.None)).ToArray();

        try
        {
            await Task.WhenAll(readers).ConfigureAwait(false);
            channel.Writer.Complete();
            await Task.WhenAll(consumers).ConfigureAwait(false);
        }
        catch (Exception failure)
        {
            channel.Writer.TryComplete();
            stop.Cancel();
            try { await Task.WhenAll(readers.Concat(consumers)).ConfigureAwait(false); } catch { /* collected below */ }
            // The failure that stopped everything, not the cancellations it caused in the other tasks.
            var cause = readers.Concat(consumers).Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions)
                .FirstOrDefault(e => e is not OperationCanceledException);
            if (cause is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
            ct.ThrowIfCancellationRequested();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        async Task ReadRunAsync(int firstBlock, int n)
        {
            long offset = (long)firstBlock * blockSize;
            int length = (int)Math.Min((long)n * blockSize, imageSize - offset);
            var buffer = pool.Rent(length);
            try
            {
                await device.ReadAsync(offset, buffer.AsMemory(0, length), stop.Token).ConfigureAwait(false);
                onRead?.Invoke(length);
                await channel.Writer.WriteAsync(new Run(firstBlock, n, buffer, length), stop.Token).ConfigureAwait(false);
            }
            catch
            {
                pool.Return(buffer);
                throw;
            }
        }
    }
}
