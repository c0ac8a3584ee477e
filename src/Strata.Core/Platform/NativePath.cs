using System.Buffers;
using System.Text;

namespace Strata.Platform;

/// <summary>
/// A string as NUL-terminated UTF-8 for a libc call, in caller-provided stack space when it fits
/// (almost every path) and in a pooled array otherwise, so a path costs no garbage.
/// Use: <c>using var p = new NativePath(path, stackalloc byte[NativePath.StackBytes]); fixed (byte* pp = p) …</c>
/// </summary>
internal ref struct NativePath
{
    public const int StackBytes = 512;

    private readonly Span<byte> _bytes;
    private byte[]? _rented;

    public NativePath(string value, Span<byte> scratch)
    {
        // libc would stop at an embedded NUL and act on a different, shorter path.
        if (value.Contains('\0'))
            throw new ArgumentException($"path contains a NUL character: {value.Replace('\0', '?')}", nameof(value));

        int worstCase = value.Length * 3 + 1; // a UTF-16 char never needs more than 3 UTF-8 bytes
        int needed = worstCase <= scratch.Length ? worstCase : Encoding.UTF8.GetByteCount(value) + 1;
        Span<byte> buffer = needed <= scratch.Length ? scratch : (_rented = ArrayPool<byte>.Shared.Rent(needed));
        int length = Encoding.UTF8.GetBytes(value, buffer);
        buffer[length] = 0;
        _bytes = buffer[..(length + 1)];
    }

    public readonly ref byte GetPinnableReference() => ref _bytes[0];

    public void Dispose()
    {
        if (_rented is not null)
            ArrayPool<byte>.Shared.Return(_rented);
        _rented = null;
    }
}
