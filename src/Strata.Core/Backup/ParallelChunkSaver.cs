using System.Collections.Concurrent;
using Strata.Repository;

namespace Strata.Backup;

/// <summary>
/// Saves the chunks of one large file on several threads while the reading thread goes on
/// chunking. Hashing, compression and encryption cost far more than chunking, so without this
/// a backup whose only change is one big file (a VM image, a database) would use a single core.
/// Chunks are copied into pooled buffers, at most a few queued at a time (back-pressure).
/// </summary>
internal sealed class ParallelChunkSaver
{
    private readonly BlobWriter _writer;
    private readonly BufferPool _buffers;
    private readonly BlockingCollection<(int Index, byte[] Buffer, int Length)> _queue;
    private readonly Task[] _savers;
    private readonly List<BlobId> _ids = new();
    private Exception? _failure;

    private const int QueuedPerThread = 1;

    public ParallelChunkSaver(BlobWriter writer, BufferPool buffers, int threads)
    {
        _writer = writer;
        _buffers = buffers;
        _queue = new BlockingCollection<(int, byte[], int)>(boundedCapacity: QueuedPerThread * threads);
        _savers = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(SaveQueued, TaskCreationOptions.LongRunning)).ToArray();
    }

    /// <summary>The most chunk buffers one saver holds at a time: queued, one per saving thread, and the one being added.</summary>
    public static int ChunksHeld(int threads) => (QueuedPerThread + 1) * threads + 1;

    public void Add(ReadOnlySpan<byte> chunk)
    {
        if (Volatile.Read(ref _failure) is { } failure) throw failure;
        var buffer = _buffers.Rent(chunk.Length);
        chunk.CopyTo(buffer);
        int index;
        lock (_ids)
        {
            index = _ids.Count;
            _ids.Add(default);
        }
        _queue.Add((index, buffer, chunk.Length));
    }

    /// <summary>Waits for every queued chunk; returns the ids in file order.</summary>
    public List<BlobId> Complete()
    {
        _queue.CompleteAdding();
        Task.WaitAll(_savers);
        if (_failure is { } failure) throw failure;
        return _ids;
    }

    /// <summary>Stops early (the reading side failed); queued chunks are dropped.</summary>
    public void Abandon()
    {
        Interlocked.CompareExchange(ref _failure, new OperationCanceledException("file reading stopped"), null);
        _queue.CompleteAdding();
        try { Task.WaitAll(_savers); } catch (AggregateException) { }
    }

    private void SaveQueued()
    {
        foreach (var (index, buffer, length) in _queue.GetConsumingEnumerable())
        {
            try
            {
                if (Volatile.Read(ref _failure) is null)
                {
                    var id = _writer.Save(BlobType.Data, buffer.AsSpan(0, length), out _);
                    lock (_ids) _ids[index] = id;
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }
            finally
            {
                _buffers.Return(buffer);
            }
        }
    }
}
