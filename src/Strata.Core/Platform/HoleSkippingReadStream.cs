using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

/// <summary>
/// Reads exactly <c>length</c> bytes of an open file, forward only, producing the zeros of holes
/// without reading them: a 64 GiB sparse VM disk with 1 GiB written costs 1 GiB of I/O.
/// SEEK_DATA/SEEK_HOLE find the extents; file systems without them (EINVAL) are read in full.
/// <para>
/// The length is fixed at open time so the backup records one consistent size. If the file grows,
/// the rest is ignored; if it shrinks, the missing tail reads as zeros and <see cref="ShrankWhileReading"/>
/// is set, so the caller can report (or retry) the file instead of failing a whole backup.
/// </para>
/// The stream reads with positional I/O and does not own or close the handle.
/// </summary>
public sealed class HoleSkippingReadStream : Stream
{
    private readonly SafeFileHandle _handle;
    private readonly long _length;
    private long _position;
    private bool _probeHoles;

    // The extent holding _position: all data or all hole up to _extentEnd. Stale once _position reaches it.
    private long _extentEnd;
    private bool _inHole;

    public HoleSkippingReadStream(SafeFileHandle handle, long length)
        : this(handle, length, probeHoles: true)
    {
    }

    /// <param name="probeHoles">False reads every byte, as on a file system without SEEK_DATA.</param>
    internal HoleSkippingReadStream(SafeFileHandle handle, long length, bool probeHoles)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _handle = handle;
        _length = length;
        _probeHoles = probeHoles;
    }

    /// <summary>The file ended before the length given at open time; the missing bytes were returned as zeros.</summary>
    public bool ShrankWhileReading { get; private set; }

    /// <summary>Bytes actually read from the file, i.e. not skipped as holes.</summary>
    public long BytesReadFromDisk { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException("HoleSkippingReadStream reads forward only.");
    }

    public override int Read(Span<byte> buffer)
    {
        int count = NextCount(buffer.Length);
        if (count == 0)
            return 0;
        if (!_inHole)
        {
            int read = RandomAccess.Read(_handle, buffer[..count], _position);
            if (read > 0)
                return AdvanceData(read);
            EndedEarly();
        }
        buffer[..count].Clear();
        return Advance(count);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int count = NextCount(buffer.Length);
        if (count == 0)
            return 0;
        if (!_inHole)
        {
            int read = await RandomAccess.ReadAsync(_handle, buffer[..count], _position, cancellationToken).ConfigureAwait(false);
            if (read > 0)
                return AdvanceData(read);
            EndedEarly();
        }
        buffer.Span[..count].Clear();
        return Advance(count);
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("HoleSkippingReadStream reads forward only.");
    public override void SetLength(long value) => throw new NotSupportedException("HoleSkippingReadStream is read-only.");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("HoleSkippingReadStream is read-only.");

    /// <summary>How many bytes the next read produces (never crossing an extent), 0 at the end.</summary>
    private int NextCount(int wanted)
    {
        if (_position >= _length || wanted == 0)
            return 0;
        if (_position >= _extentEnd)
            FindExtent();
        return (int)Math.Min(wanted, _extentEnd - _position);
    }

    private void FindExtent()
    {
        if (!_probeHoles)
        {
            SetExtent(hole: false, _length);
            return;
        }

        long data = Posix.LSeek(_handle, _position, LibC.SeekDataWhence, out int errno);
        if (data < 0)
        {
            switch (errno)
            {
                case Errno.EINVAL: // no SEEK_DATA on this file system
                    _probeHoles = false;
                    SetExtent(hole: false, _length);
                    return;
                case Errno.ENXIO: // nothing but hole from here on, or the file is now shorter
                    SetHoleToEnd();
                    return;
                default:
                    throw new PosixException(errno, Posix.DescribeHandle(_handle));
            }
        }
        if (data > _position)
        {
            SetExtent(hole: true, data);
            return;
        }

        long hole = Posix.LSeek(_handle, _position, LibC.SeekHoleWhence, out errno);
        if (hole < 0)
        {
            if (errno != Errno.ENXIO)
                throw new PosixException(errno, Posix.DescribeHandle(_handle));
            SetHoleToEnd(); // truncated between the two calls
            return;
        }
        SetExtent(hole: false, hole);
    }

    private void SetExtent(bool hole, long end)
    {
        // A file changing under us can report an extent that ends where we are; reading the bytes is
        // always correct, so fall back to that rather than stall.
        if (end <= _position)
            (hole, end) = (false, _length);
        _inHole = hole;
        _extentEnd = Math.Min(end, _length);
    }

    private void SetHoleToEnd()
    {
        if (Posix.FStat(_handle).Size < _length)
            ShrankWhileReading = true;
        SetExtent(hole: true, _length);
    }

    /// <summary>A read hit end-of-file inside the expected length: the file shrank.</summary>
    private void EndedEarly()
    {
        ShrankWhileReading = true;
        SetExtent(hole: true, _length);
    }

    private int AdvanceData(int count)
    {
        BytesReadFromDisk += count;
        return Advance(count);
    }

    private int Advance(int count)
    {
        _position += count;
        return count;
    }
}
