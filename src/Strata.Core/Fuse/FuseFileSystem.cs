using Strata.Platform;

namespace Strata.Fuse;

/// <summary>
/// A read-only file system served through libfuse's path-based API. Each method returns 0 or a
/// positive count on success and a negative errno on failure, as libfuse expects; an exception
/// becomes -EIO (see <see cref="FuseHost"/>). Methods are called from several threads at once.
/// </summary>
internal abstract class FuseFileSystem
{
    public abstract int GetAttr(string path, ref NativeStat stat);

    /// <summary>Writes the link target, NUL-terminated and cut to the buffer.</summary>
    public abstract int ReadLink(string path, Span<byte> buffer);

    public abstract int Open(string path, int flags, out ulong handle);

    /// <summary>Bytes read at <paramref name="offset"/> (fewer only at the end of the file).</summary>
    public abstract int Read(ulong handle, Span<byte> buffer, long offset);

    public abstract void Release(ulong handle);

    public abstract int ReadDirectory(string path, DirectoryFiller filler);

    /// <summary>With an empty <paramref name="value"/>, the size the value needs; else the bytes written or -ERANGE.</summary>
    public abstract int GetXattr(string path, string name, Span<byte> value);

    /// <summary>Names, each NUL-terminated; with an empty <paramref name="list"/>, the size they need.</summary>
    public abstract int ListXattr(string path, Span<byte> list);

    /// <summary>Called when a callback threw: the operation answers EIO, the reason goes here.</summary>
    public abstract void ReportFailure(string operation, string path, Exception error);
}

/// <summary>Hands directory entries to libfuse's filler for one readdir call.</summary>
internal readonly unsafe ref struct DirectoryFiller
{
    private readonly void* _buffer;
    private readonly delegate* unmanaged<void*, byte*, NativeStat*, long, int, int> _fill;

    public DirectoryFiller(void* buffer, nint fill)
    {
        _buffer = buffer;
        _fill = (delegate* unmanaged<void*, byte*, NativeStat*, long, int, int>)fill;
    }

    /// <summary>Adds one entry with its type bits and inode number (so ls and find need no stat); false when libfuse's buffer is full.</summary>
    public bool Add(ReadOnlySpan<char> name, uint mode, ulong inode)
    {
        Span<byte> utf8 = stackalloc byte[1024];
        int length = System.Text.Encoding.UTF8.GetBytes(name, utf8[..^1]);
        utf8[length] = 0;
        var stat = new NativeStat { Mode = mode, Ino = inode };
        fixed (byte* p = utf8) return _fill(_buffer, p, &stat, 0, 0) == 0;
    }
}
