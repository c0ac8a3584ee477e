using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Strata.Repository;

/// <summary>
/// A 32-byte content address: the keyed hash of a blob's plaintext, or the SHA-256 of a stored
/// file (pack, index, snapshot). A value type so that index lookups on the hot path allocate nothing.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct BlobId : IEquatable<BlobId>, IComparable<BlobId>
{
    public const int Size = 32;
    private readonly ulong _a, _b, _c, _d;

    public BlobId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size) throw new ArgumentException($"an id is {Size} bytes, got {bytes.Length}");
        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    public bool IsZero => (_a | _b | _c | _d) == 0;

    /// <summary>The first byte (the first two hex digits), e.g. to spread packs over groups.</summary>
    public byte FirstByte => (byte)(_a >> 56);

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    public static BlobId Parse(string hex)
    {
        if (!TryParse(hex, out var id)) throw new FormatException($"'{hex}' is not a 64-digit hex id");
        return id;
    }

    public static bool TryParse(string? hex, out BlobId id)
    {
        id = default;
        return hex is not null && TryParse(hex.AsSpan(), out id);
    }

    public static bool TryParse(ReadOnlySpan<char> hex, out BlobId id)
    {
        id = default;
        if (hex.Length != Size * 2) return false;
        Span<byte> bytes = stackalloc byte[Size];
        if (Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != Size) return false;
        id = new BlobId(bytes);
        return true;
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        WriteTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    public string ToShortString() => ToString()[..8];

    public bool Equals(BlobId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;
    public override bool Equals(object? obj) => obj is BlobId other && Equals(other);
    // The id is already a uniformly distributed hash: its first word is a perfect hash code.
    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32);
    public int CompareTo(BlobId other)
    {
        int c = _a.CompareTo(other._a);
        if (c != 0) return c;
        c = _b.CompareTo(other._b);
        if (c != 0) return c;
        c = _c.CompareTo(other._c);
        return c != 0 ? c : _d.CompareTo(other._d);
    }
    public static bool operator ==(BlobId left, BlobId right) => left.Equals(right);
    public static bool operator !=(BlobId left, BlobId right) => !left.Equals(right);
}
