using Microsoft.Win32.SafeHandles;
using Strata.Errors;

namespace Strata.FileSystems;

/// <summary>A raw disk image file (or block device) read with positioned reads, safe from many threads.</summary>
public sealed class FileBlockSource : IBlockSource, IDisposable
{
    private readonly SafeFileHandle _handle;

    private FileBlockSource(string path, SafeFileHandle handle, long length)
    {
        Description = path;
        _handle = handle;
        Length = length;
    }

    public string Description { get; }

    public long Length { get; }

    public static FileBlockSource Open(string path)
    {
        SafeFileHandle handle;
        try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot open the image {path}: {e.Message}");
        }
        try { return new FileBlockSource(path, handle, RandomAccess.GetLength(handle)); }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await RandomAccess.ReadAsync(_handle, buffer[done..], offset + done, ct).ConfigureAwait(false);
            if (n == 0) throw new CorruptFileSystemException($"{Description}: unexpected end of the image at byte {offset + done}");
            done += n;
        }
    }

    public void Dispose() => _handle.Dispose();
}
