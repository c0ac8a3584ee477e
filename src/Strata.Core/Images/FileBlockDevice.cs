using Microsoft.Win32.SafeHandles;
using Strata.Errors;
using Strata.Platform;

namespace Strata.Images;

/// <summary>
/// A raw disk image in a regular file, or a block device. Whole aligned blocks are read and written
/// past the page cache (O_DIRECT, through a second handle and an aligned bounce buffer): a full read
/// or restore moves gigabytes that nobody reads again soon, and through the page cache every one of
/// those pages costs more than its copy on a VM whose host reclaims idle memory (docs/PERFORMANCE.md,
/// "Writing past the page cache"); it would also evict the protected machine's working set.
/// Unaligned ranges (the tail of an odd-sized image) and file systems that refuse O_DIRECT use the buffered handle.
/// </summary>
public sealed class FileBlockDevice : IBlockDevice
{
    private static readonly byte[] Zeros = new byte[1 << 20];
    private readonly SafeFileHandle _handle;
    private readonly SafeFileHandle? _directHandle;
    private readonly SafeFileHandle? _claim;
    private readonly bool _isRegularFile;
    private volatile bool _direct;

    private FileBlockDevice(string path, SafeFileHandle handle, bool regular, long size, bool writable, SafeFileHandle? claim = null)
    {
        Description = path;
        _handle = handle;
        _isRegularFile = regular;
        _claim = claim;
        Size = size;
        _directHandle = OpenDirect(path, writable);
        _direct = _directHandle is not null;
    }

    /// <summary>A block device that is mounted or held by another program (read anyway: it may change while it is read).</summary>
    public bool InUseElsewhere { get; private init; }

    /// <summary>Whether aligned reads and writes bypass the page cache (false where the file system refused O_DIRECT).</summary>
    public bool IsDirect => _direct;

    public string Description { get; }
    public long Size { get; private set; }
    public bool IsRegularFile => _isRegularFile;
    public int ReadConcurrency => 2;

    /// <summary>Sets a regular file's length (a restored raw image file ends where the image does).</summary>
    public void SetLength(long size)
    {
        try { RandomAccess.SetLength(_handle, size); }
        catch (IOException e) { throw Failure(e); }
        Size = size;
    }

    public static FileBlockDevice Open(string path, bool writable)
    {
        try
        {
            var handle = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite);
            var status = Posix.FStat(handle);
            bool regular = status.Kind == FileKind.Regular;
            if (!regular && status.Kind != FileKind.BlockDevice)
            {
                handle.Dispose();
                throw new UsageException($"{path} is neither a regular file nor a block device");
            }
            if (regular) return new FileBlockDevice(path, handle, regular, status.Size, writable);
            // Writing under a mounted file system (or LVM, md) would corrupt it: a device is written
            // only while Strata holds it exclusively, which also keeps anyone from mounting it meanwhile.
            var claim = Posix.TryClaimBlockDevice(path);
            if (claim is null && writable)
            {
                handle.Dispose();
                throw new UsageException($"{path} is in use (mounted, or held by LVM, md or another program): unmount it or stop what uses it before restoring onto it");
            }
            if (!writable) claim?.Dispose();
            return new FileBlockDevice(path, handle, regular, Posix.SizeOf(handle), writable, writable ? claim : null) { InUseElsewhere = claim is null };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot open {path}: {IoErrorText.Describe(e)}");
        }
    }

    /// <summary>Creates a new sparse file of <paramref name="size"/> bytes (all holes); refuses to replace an existing one.</summary>
    public static FileBlockDevice Create(string path, long size)
    {
        try
        {
            var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
            RandomAccess.SetLength(handle, size);
            return new FileBlockDevice(path, handle, regular: true, size, writable: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException(e is DirectoryNotFoundException
                ? $"cannot create {path}: directory {Path.GetDirectoryName(Path.GetFullPath(path))} does not exist"
                : $"cannot create {path}: {IoErrorText.Describe(e)}");
        }
    }

    public Task<List<ImageExtent>> DataExtentsAsync(CancellationToken ct)
    {
        var extents = new List<ImageExtent>();
        if (!_isRegularFile)
        {
            if (Size > 0) extents.Add(new ImageExtent(0, Size));
            return Task.FromResult(extents);
        }
        long offset = 0;
        while (offset < Size)
        {
            ct.ThrowIfCancellationRequested();
            long data = Posix.SeekData(_handle, offset);
            if (data < 0 || data >= Size) break;
            long hole = Math.Min(Size, Posix.SeekHole(_handle, data));
            extents.Add(new ImageExtent(data, hole - data));
            offset = hole;
        }
        return Task.FromResult(extents);
    }

    // Reads and writes are synchronous on the caller's thread: on Linux an async file read or write
    // is the same blocking call on a pool thread plus two thread switches, and a full image restore
    // writes one block at a time from several workers.
    public Task ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return Task.FromCanceled(ct);
        try
        {
            int done = _direct && DirectIo.IsAligned(offset, buffer.Length) ? ReadDirect(offset, buffer.Span) : 0;
            while (done < buffer.Length)
            {
                int n = RandomAccess.Read(_handle, buffer.Span[done..], offset + done);
                if (n == 0) throw new StrataException($"{Description} ended at {offset + done} bytes while reading (it shrank during the backup?)");
                done += n;
            }
            return Task.CompletedTask;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Task.FromException(Failure(e)); }
        catch (Exception e) { return Task.FromException(e); }
    }

    public Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return Task.FromCanceled(ct);
        try
        {
            int done = _direct && DirectIo.IsAligned(offset, data.Length) ? WriteDirect(offset, data.Span) : 0;
            if (done < data.Length) RandomAccess.Write(_handle, data.Span[done..], offset + done);
            return Task.CompletedTask;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Task.FromException(Failure(e)); }
        catch (Exception e) { return Task.FromException(e); }
    }

    /// <summary>Reads aligned data with O_DIRECT through an aligned buffer; returns how much it read (less at the end of the file or after a fallback).</summary>
    private unsafe int ReadDirect(long offset, Span<byte> data)
    {
        byte* buffer = DirectIo.Buffers.Rent();
        try
        {
            int done = 0;
            while (done < data.Length && _direct)
            {
                int want = Math.Min(data.Length - done, DirectIo.BufferSize);
                nint n = LibC.pread(_directHandle!, buffer, want, offset + done);
                if (n < 0)
                {
                    int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    if (errno == Errno.EINVAL) { _direct = false; break; }
                    throw new PosixException(errno, Description);
                }
                new ReadOnlySpan<byte>(buffer, (int)n).CopyTo(data[done..]);
                done += (int)n;
                if (n < want) break; // the end of the file: the buffered read says so
            }
            return done;
        }
        finally
        {
            DirectIo.Buffers.Return(buffer);
        }
    }

    /// <summary>Writes aligned data through an aligned buffer with O_DIRECT; returns how much it wrote (less after a fallback).</summary>
    private unsafe int WriteDirect(long offset, ReadOnlySpan<byte> data)
    {
        byte* buffer = DirectIo.Buffers.Rent();
        try
        {
            int done = 0;
            while (done < data.Length && _direct)
            {
                int n = Math.Min(data.Length - done, DirectIo.BufferSize);
                data.Slice(done, n).CopyTo(new Span<byte>(buffer, n));
                int written = DirectIo.WriteAll(_directHandle!, buffer, n, offset + done, Description);
                // Accepted at open, refused at the write (some FUSE and network file systems): buffered from here on.
                if (written < n) { _direct = false; return done + written; }
                done += n;
            }
            return done;
        }
        finally
        {
            DirectIo.Buffers.Return(buffer);
        }
    }

    private static SafeFileHandle? OpenDirect(string path, bool writable)
    {
        try
        {
            var handle = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite);
            if (DirectIo.TrySet(handle, on: true)) return handle;
            handle.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    public async Task ZeroAsync(long offset, long length, CancellationToken ct)
    {
        if (_isRegularFile && Posix.TryPunchHole(_handle, offset, length)) return;
        while (length > 0)
        {
            int n = (int)Math.Min(length, Zeros.Length);
            await WriteAsync(offset, Zeros.AsMemory(0, n), ct).ConfigureAwait(false);
            offset += n;
            length -= n;
        }
    }

    public Task FlushAsync(CancellationToken ct)
    {
        try { Posix.Fsync(_handle); }
        catch (IOException e) { throw Failure(e); }
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _directHandle?.Dispose();
        _handle.Dispose();
        _claim?.Dispose();
        return ValueTask.CompletedTask;
    }

    private StrataException Failure(Exception e) => new($"{Description}: {IoErrorText.Describe(e)}", ExitCodes.Fatal, e);
}
