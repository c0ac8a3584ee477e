using System.Threading.Channels;
using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// Reads a set of blocks from a disk in runs of adjacent blocks (up to 4 MiB per request, one
/// request at a time, as sequential as the set allows) and hands each block to workers on every
/// core: the reading overlaps with hashing, compressing and encrypting. Buffers are pooled.
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
        var pool = new BufferPool(runBlocks * blockSize, workers + 3);
        var channel = Channel.CreateBounded<Run>(new BoundedChannelOptions(workers + 1) { SingleWriter = true });
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

        try
        {
            int first = -1, count = 0;
            foreach (int b in blocks.Blocks())
            {
                if (count > 0 && (b != first + count || count == runBlocks))
                {
                    await ReadRunAsync(first, count).ConfigureAwait(false);
                    count = 0;
                }
                if (count == 0) first = b;
                count++;
            }
            if (count > 0) await ReadRunAsync(first, count).ConfigureAwait(false);
            channel.Writer.Complete();
        }
        catch (Exception)
        {
            channel.Writer.TryComplete();
            stop.Cancel();
            // A worker's failure (it cancelled the reading) is the one to report; otherwise the reader's own.
            try { await Task.WhenAll(consumers).ConfigureAwait(false); }
            catch (Exception worker) when (worker is not OperationCanceledException) { throw; }
            catch (OperationCanceledException) { }
            throw;
        }
        await Task.WhenAll(consumers).ConfigureAwait(false);

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
