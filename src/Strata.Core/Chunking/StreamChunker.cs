using System.Buffers;

namespace Strata.Chunking;

/// <summary>
/// Cuts a stream into <see cref="FastCdc"/> chunks without copying each chunk: a chunk is handed
/// out as a slice of one pooled buffer. The buffer always holds at least MaxSize unread bytes
/// before a chunk is cut (or everything up to the end of the stream), so every boundary is final.
/// </summary>
/// <example>
/// <code>
/// using var chunker = new StreamChunker(cdc, file);
/// while (chunker.TryReadChunk(out var chunk))
///     Store(chunk.Span);   // hash / compress / copy it now: the next call reuses the memory
/// </code>
/// </example>
/// <remarks>
/// Not thread-safe (one reader). The stream is not disposed: whoever opened it closes it.
/// </remarks>
public sealed class StreamChunker : IDisposable
{
    /// <summary>
    /// Every read asks for at least this many bytes: few large reads beat many small ones, and
    /// the unread tail moved to the front before each refill (under MaxSize bytes) stays small
    /// next to the bytes read.
    /// </summary>
    private const int MinReadSize = 1 << 20;

    private readonly FastCdc _cdc;
    private readonly Stream _source;
    private readonly int _maxSize;
    private byte[]? _buffer;
    private readonly bool _ownsBuffer;
    private int _start;           // unread bytes are _buffer[_start.._end)
    private int _end;
    private bool _endOfStream;

    public StreamChunker(FastCdc cdc, Stream source)
    {
        ArgumentNullException.ThrowIfNull(cdc);
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanRead) throw new ArgumentException("the stream to chunk must be readable", nameof(source));
        _cdc = cdc;
        _source = source;
        _maxSize = cdc.Parameters.MaxSize;
        // MaxSize <= 64 MiB, so this cannot overflow.
        _buffer = ArrayPool<byte>.Shared.Rent(BufferSize(cdc.Parameters));
        _ownsBuffer = true;
    }

    /// <summary>
    /// Chunks out of a caller-owned buffer of at least <see cref="BufferSize"/> bytes, so a caller
    /// that chunks many files (a backup) reuses a few buffers instead of renting one per file.
    /// </summary>
    public StreamChunker(FastCdc cdc, Stream source, byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(cdc);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(buffer);
        if (!source.CanRead) throw new ArgumentException("the stream to chunk must be readable", nameof(source));
        if (buffer.Length < BufferSize(cdc.Parameters)) throw new ArgumentException($"the chunking buffer must hold at least {BufferSize(cdc.Parameters)} bytes", nameof(buffer));
        _cdc = cdc;
        _source = source;
        _maxSize = cdc.Parameters.MaxSize;
        _buffer = buffer;
    }

    /// <summary>The buffer size a chunker needs for these parameters.</summary>
    public static int BufferSize(ChunkerParameters parameters) => parameters.MaxSize + Math.Max(parameters.MaxSize, MinReadSize);

    /// <summary>Bytes read from the stream so far (read ahead of the chunks returned, up to one buffer).</summary>
    public long BytesRead { get; private set; }

    /// <summary>
    /// Returns the next chunk, or false at the end of the stream (at once for an empty stream).
    /// <paramref name="chunk"/> points into an internal buffer: it stays valid only until the
    /// next call or <see cref="Dispose"/>.
    /// </summary>
    public bool TryReadChunk(out ReadOnlyMemory<byte> chunk)
    {
        byte[] buffer = _buffer ?? throw new ObjectDisposedException(nameof(StreamChunker));
        if (_end - _start < _maxSize && !_endOfStream) Refill(buffer);

        // With MaxSize bytes available, or all that is left, NextChunkLength always decides;
        // it returns 0 only when nothing is left.
        int length = _cdc.NextChunkLength(buffer.AsSpan(_start, _end - _start), _endOfStream);
        if (length == 0)
        {
            chunk = default;
            return false;
        }
        chunk = new ReadOnlyMemory<byte>(buffer, _start, length);
        _start += length;
        return true;
    }

    /// <summary>Moves the unread tail (less than MaxSize bytes) to the front, then reads until MaxSize bytes are available or the stream ends.</summary>
    private void Refill(byte[] buffer)
    {
        int unread = _end - _start;
        if (_start > 0)
        {
            buffer.AsSpan(_start, unread).CopyTo(buffer);
            _start = 0;
            _end = unread;
        }
        // Each read asks for all the free space (at least MinReadSize, since fewer than MaxSize
        // bytes are held), but stops as soon as a chunk can be cut: a slow pipe or socket should
        // not hold back chunks that are already complete.
        while (_end < _maxSize)
        {
            int read = _source.Read(buffer, _end, buffer.Length - _end);
            if (read == 0)
            {
                _endOfStream = true;
                return;
            }
            _end += read;
            BytesRead += read;
        }
    }

    /// <summary>Returns the buffer to the pool; chunks handed out earlier become invalid.</summary>
    public void Dispose()
    {
        if (_buffer is null) return;
        if (_ownsBuffer) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
    }
}
