using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Strata.Chunking;

/// <summary>
/// FastCDC content-defined chunking (Xia et al., USENIX ATC 2016 and IEEE TPDS 2020) with
/// normalized chunking level 2. Boundaries depend only on nearby content, so inserting or
/// deleting bytes moves the boundaries near the edit and leaves all others where they were:
/// unchanged regions produce the same chunks and deduplicate.
/// Immutable and thread-safe: one instance can serve every thread.
/// </summary>
/// <remarks>
/// Exact rule (part of the on-disk format; do not change). With b = log2(AverageSize) and
/// <c>mask(n)</c> = n one-bits at bit positions 63-n .. 62, that is <c>((1 &lt;&lt; n) - 1) &lt;&lt; (63 - n)</c>:
/// <code>
/// MaskS = mask(b + 2)      -- stricter: used while the chunk would be shorter than AverageSize
/// MaskL = mask(b - 2)      -- looser:   used from AverageSize on
/// The input is cut from its start; each chunk begins where the previous one ended. With
/// data[0..n) the input left from a chunk's start, the chunk's length is:
///     if n &lt;= MinSize: return n                    -- only at the end of the input
///     h = 0                                        -- uint64, arithmetic mod 2^64
///     for i = MinSize, MinSize+1, ..., min(n, MaxSize) - 1:
///         h = (h &lt;&lt; 1) + Gear[data[i]]
///         mask = (i + 1 &lt; AverageSize) ? MaskS : MaskL
///         if (h &amp; mask) == 0: return i + 1      -- the chunk ends after byte i
///     return min(n, MaxSize)
/// </code>
/// The first MinSize bytes are skipped entirely: they cannot end a chunk, so hashing them would
/// be wasted work. Both masks take the top bits of h, which mix the most bytes (bit k of h
/// depends on the last k + 1 bytes fed), so MaskL's bits are a subset of MaskS's: a position
/// that ends a chunk under MaskS still does under MaskL, which helps boundaries fall back into
/// step after an edit shifts them across AverageSize. Bit 63 is never part of a mask; this lets
/// an implementation feed two bytes per step (see <see cref="ScanTwoBytesAtATime"/>) and still
/// find exactly these boundaries.
/// </remarks>
public sealed class FastCdc
{
    private readonly ulong[] _gear;
    private readonly ulong _maskS;
    private readonly ulong _maskL;
    private readonly int _min;
    private readonly int _avg;
    private readonly int _max;

    public FastCdc(ChunkerParameters parameters, GearTable gear)
    {
        ArgumentNullException.ThrowIfNull(gear);
        parameters.Validate();
        Parameters = parameters;
        _gear = gear.ToArray();
        _min = parameters.MinSize;
        _avg = parameters.AverageSize;
        _max = parameters.MaxSize;
        int bits = BitOperations.Log2((uint)parameters.AverageSize);
        _maskS = Mask(bits + 2);
        _maskL = Mask(bits - 2);
        _zeroRunCut = NextChunkLength(new byte[_max], endOfInput: false);
    }

    /// <summary>
    /// Where a chunk that starts with a run of zeros is cut, computed once: boundaries depend only on
    /// the bytes before them, so any input whose first <c>_zeroRunCut</c> bytes are zero is cut at
    /// the same place. Holes of sparse files and empty regions of disk images then cost a
    /// vectorised zero test instead of the byte-by-byte gear hash, with exactly the same chunks.
    /// </summary>
    private readonly int _zeroRunCut;

    public ChunkerParameters Parameters { get; }

    /// <summary>
    /// Given the bytes starting at a chunk boundary, returns the length of that chunk; returns 0
    /// when no boundary was found in <paramref name="data"/> yet more input could still place one
    /// (fewer than MaxSize bytes and not <paramref name="endOfInput"/>): call again with more bytes.
    /// Passing at least MaxSize bytes (or everything left at the end) always yields a chunk,
    /// except 0 for empty input at the end. A boundary, once returned, never depends on later bytes.
    /// </summary>
    public int NextChunkLength(ReadOnlySpan<byte> data, bool endOfInput)
    {
        int n = data.Length;
        if (n <= _min) return endOfInput ? n : 0;
        if (_zeroRunCut > 0 && n >= _zeroRunCut && data[.._zeroRunCut].IndexOfAnyExcept((byte)0) < 0) return _zeroRunCut;

        int limit = Math.Min(n, _max);
        // Positions before strictEnd (where the chunk would stay shorter than avg) use MaskS.
        int strictEnd = Math.Min(limit, _avg - 1);
        ref byte bytes = ref MemoryMarshal.GetReference(data);
        ref ulong gear = ref MemoryMarshal.GetArrayDataReference(_gear);

        // Indexes are nint so the loop needs no sign extension; every index stays below
        // limit <= data.Length, which is what makes the unchecked reads safe.
        nint i = _min;
        ulong h = 0;
        int cut = ScanTwoBytesAtATime(ref bytes, ref gear, ref i, strictEnd, _maskS, ref h);
        if (cut > 0) return cut;
        cut = ScanTwoBytesAtATime(ref bytes, ref gear, ref i, limit, _maskL, ref h);
        if (cut > 0) return cut;

        if (limit == _max) return _max;
        return endOfInput ? n : 0;
    }

    /// <summary>
    /// Feeds bytes[i..end) into the hash <paramref name="h"/> and returns the chunk length at the
    /// first position whose hash has no bit of <paramref name="mask"/> set, or 0 with
    /// <paramref name="i"/> and <paramref name="h"/> advanced to <paramref name="end"/>.
    /// </summary>
    /// <remarks>
    /// Two bytes per step halves the loop overhead and shortens the dependency chain (about 25%
    /// faster than the plain loop here). With h1 = (h &lt;&lt; 1) + G[b0] and h2 = (h1 &lt;&lt; 1) + G[b1]:
    /// after <c>h = (h &lt;&lt; 2) + (G[b0] &lt;&lt; 1)</c> the register holds h1 &lt;&lt; 1, and
    /// (h1 &lt;&lt; 1) &amp; (mask &lt;&lt; 1) == 0 exactly when h1 &amp; mask == 0 because mask
    /// never uses bit 63 (nothing is shifted out). Adding G[b1] then gives h2. So the boundaries are
    /// exactly those of the one-byte rule in the class remarks.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ScanTwoBytesAtATime(ref byte bytes, ref ulong gear, ref nint i, nint end, ulong mask, ref ulong h)
    {
        nint position = i;
        ulong hash = h;
        ulong maskShifted = mask << 1;
        for (; position + 1 < end; position += 2)
        {
            hash = (hash << 2) + (Unsafe.Add(ref gear, Unsafe.Add(ref bytes, position)) << 1);
            if ((hash & maskShifted) == 0) return (int)position + 1;
            hash += Unsafe.Add(ref gear, Unsafe.Add(ref bytes, position + 1));
            if ((hash & mask) == 0) return (int)position + 2;
        }
        if (position < end)
        {
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref bytes, position));
            if ((hash & mask) == 0) return (int)position + 1;
            position++;
        }
        i = position;
        h = hash;
        return 0;
    }

    private static ulong Mask(int bits) => ((1UL << bits) - 1) << (63 - bits);
}
