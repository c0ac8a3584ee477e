using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Strata.Platform;

/// <summary>
/// A new file written front to back with O_DIRECT where the file system allows it, through two
/// aligned 1 MiB buffers: while one fills, the other is written on a pool thread. Optionally
/// sparse: all-zero 4 KiB blocks are not written and stay holes.
/// </summary>
/// <remarks>
/// Why not the page cache: a backup writes hundreds of MiB of packs that nobody reads soon, and a
/// restore writes gigabytes. Through the page cache every one of those pages must first be found
/// free and mapped, and on a VM whose host reclaims idle guest memory (this benchmark machine, most
/// clouds) that costs more than the copy itself: writing 1 GB took 4.2 s of system time buffered
/// against 0.2 s direct (docs/PERFORMANCE.md, "Writing past the page cache"). It also keeps a
/// backup from evicting the protected machine's own working set. File systems without O_DIRECT
/// (ramfs, older tmpfs, some FUSE) refuse the flag or the first write with EINVAL; the file then
/// falls back to ordinary buffered writes. The caller still fsyncs: the disk's cache is not bypassed.
/// </remarks>
public sealed unsafe class UncachedAppendFile : IDisposable
{
    private const int Alignment = DirectIo.Alignment;
    private const int BufferSize = DirectIo.BufferSize;

    private readonly SafeFileHandle _file;
    private readonly bool _ownsFile;
    private readonly bool _sparse;
    private readonly string _path;
    private byte* _filling;
    private byte* _spare;
    private int _filled;
    private long _fillingOffset;
    private long _bytesWritten;
    private Task _writing = Task.CompletedTask;
    private volatile bool _direct;
    private bool _completed;

    private UncachedAppendFile(SafeFileHandle file, bool ownsFile, string path, bool sparse)
    {
        _file = file;
        _ownsFile = ownsFile;
        _path = path;
        _sparse = sparse;
        _direct = DirectIo.TrySet(file, on: true);
        _filling = DirectIo.Buffers.Rent();
    }

    /// <summary>Creates <paramref name="path"/>, which must not exist yet.</summary>
    public static UncachedAppendFile CreateNew(string path) =>
        new(File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None), ownsFile: true, path, sparse: false);

    /// <summary>
    /// Writes through <paramref name="emptyFile"/>, a file just created and still empty (holes must
    /// read as zeros). The caller keeps the handle: it is neither closed nor left in direct mode.
    /// </summary>
    public static UncachedAppendFile Open(SafeFileHandle emptyFile, string pathForErrors, bool sparse) =>
        new(emptyFile, ownsFile: false, pathForErrors, sparse);

    /// <summary>Bytes appended so far: the file's length once <see cref="Complete"/> has run.</summary>
    public long Length { get; private set; }

    /// <summary>Bytes that reached the file, holes left out; final once <see cref="Complete"/> has run.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Whether writes still bypass the page cache (false after a fallback).</summary>
    public bool IsDirect => _direct;

    public void Append(ReadOnlySpan<byte> data)
    {
        ThrowIfNotWritable();
        while (!data.IsEmpty)
        {
            int n = Math.Min(data.Length, BufferSize - _filled);
            data[..n].CopyTo(new Span<byte>(_filling + _filled, n));
            _filled += n;
            Length += n;
            data = data[n..];
            if (_filled == BufferSize) WriteBehind();
        }
    }

    /// <summary>Appends <paramref name="count"/> zeros; in a sparse file whole buffers of them are skipped without touching memory.</summary>
    public void AppendZeros(long count)
    {
        ThrowIfNotWritable();
        while (count > 0)
        {
            if (_sparse && _filled == 0 && count >= BufferSize)
            {
                long skipped = count / BufferSize * BufferSize;
                _fillingOffset += skipped;
                Length += skipped;
                count -= skipped;
                continue;
            }
            int n = (int)Math.Min(count, BufferSize - _filled);
            new Span<byte>(_filling + _filled, n).Clear();
            _filled += n;
            Length += n;
            count -= n;
            if (_filled == BufferSize) WriteBehind();
        }
    }

    /// <summary>Writes what is still buffered and waits for every write; the file then holds exactly <see cref="Length"/> bytes.</summary>
    public void Complete()
    {
        if (_completed) return;
        ObjectDisposedException.ThrowIf(_filling is null, this);
        WaitForWrite();
        if (_filled > 0)
        {
            // A direct write of the tail must be whole blocks: pad with zeros, then cut the file back.
            int padded = (_filled + Alignment - 1) / Alignment * Alignment;
            new Span<byte>(_filling + _filled, padded - _filled).Clear();
            WriteBuffer(_filling, padded, _fillingOffset);
            // The padding was written with the last block unless that block was a hole.
            if (!_sparse || new ReadOnlySpan<byte>(_filling + padded - Alignment, Alignment).IndexOfAnyExcept((byte)0) >= 0) _bytesWritten -= padded - _filled;
        }
        // Sets the size past the padding, and over a trailing hole that nothing was written into.
        if (LibC.ftruncate(_file, Length) != 0) throw new PosixException(Marshal.GetLastPInvokeError(), _path);
        if (!_ownsFile && _direct) DirectIo.TrySet(_file, on: false);
        _completed = true;
    }

    /// <summary>Waits for a write in flight (its error is not reported again), returns the buffers and closes the file if it owns it.</summary>
    public void Dispose()
    {
        if (_filling is null) return;
        try { _writing.Wait(); } catch (AggregateException) { }
        DirectIo.Buffers.Return(_filling);
        DirectIo.Buffers.Return(_spare);
        _filling = _spare = null;
        if (_ownsFile) _file.Dispose();
    }

    private void ThrowIfNotWritable()
    {
        ObjectDisposedException.ThrowIf(_filling is null, this);
        if (_completed) throw new InvalidOperationException("the file is complete");
    }

    private void WriteBehind()
    {
        WaitForWrite();
        if (_spare is null) _spare = DirectIo.Buffers.Rent();
        nint full = (nint)_filling;
        long offset = _fillingOffset;
        _filling = _spare;
        _spare = (byte*)full;
        _fillingOffset += BufferSize;
        _filled = 0;
        _writing = Task.Run(() => WriteBuffer((byte*)full, BufferSize, offset));
    }

    /// <summary>Waits for the write in flight and rethrows its failure (a full disk, an I/O error) as it was.</summary>
    private void WaitForWrite()
    {
        var writing = _writing;
        _writing = Task.CompletedTask;
        writing.GetAwaiter().GetResult();
    }

    /// <summary>Writes a buffer whose start is block-aligned in the file; a sparse file gets only its runs of non-zero blocks.</summary>
    private void WriteBuffer(byte* buffer, int count, long offset)
    {
        if (!_sparse)
        {
            WriteAt(buffer, count, offset);
            return;
        }
        var data = new ReadOnlySpan<byte>(buffer, count);
        for (var (start, end) = DataRuns.Next(data, offset, 0); start < end; (start, end) = DataRuns.Next(data, offset, end))
            WriteAt(buffer + start, end - start, offset + start);
    }

    private void WriteAt(byte* buffer, int count, long offset)
    {
        int done = DirectIo.WriteAll(_file, buffer, count, offset, _path);
        // Some file systems accept O_DIRECT at fcntl time and refuse the write; a short direct write
        // leaves an unaligned rest. Either way the buffered path can finish the job.
        if (done < count && _direct)
        {
            _direct = false;
            DirectIo.TrySet(_file, on: false);
            done += DirectIo.WriteAll(_file, buffer + done, count - done, offset + done, _path);
        }
        if (done < count) throw new PosixException(Errno.EINVAL, _path);
        Interlocked.Add(ref _bytesWritten, count);
    }
}
