using System.Collections;
using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// The block ids of a <see cref="BlockMap"/>, held in segments of
/// <see cref="BlockMapFormat.BlocksPerSegment"/> blocks, as they are stored. A segment that is all
/// zero blocks holds no array, and a map made from its parent's (<see cref="CopyFrom"/>) shares the
/// parent's segment arrays until a block in one is set. So memory follows the data a disk holds and
/// what changed since the parent, not its size: a 1 TiB thin disk with a few GiB written costs a few
/// MiB, where a flat array of ids would cost 512 MiB per map (two maps in an incremental backup).
/// Each segment also remembers the id it was stored under while it is unchanged, so saving a map
/// encodes only the segments that changed.
/// Setting blocks from several threads at once is safe (different blocks; arrays are made under a lock).
/// </summary>
public sealed class BlockTable : IEnumerable<BlobId>
{
    private const int PerSegment = BlockMapFormat.BlocksPerSegment;
    private readonly BlobId[]?[] _segments;
    private readonly bool[] _owned;
    private readonly BlobId?[] _storedIds;
    private readonly object _lock = new();

    public BlockTable(int length)
    {
        Length = length;
        int count = BlockMapFormat.SegmentCount(length);
        _segments = new BlobId[]?[count];
        _owned = new bool[count];
        _storedIds = new BlobId?[count];
    }

    public int Length { get; }
    public int SegmentCount => _segments.Length;

    public BlobId this[int block]
    {
        get
        {
            if ((uint)block >= (uint)Length) throw new IndexOutOfRangeException();
            var segment = _segments[block / PerSegment];
            return segment is null ? default : segment[block % PerSegment];
        }
        set
        {
            if ((uint)block >= (uint)Length) throw new IndexOutOfRangeException();
            int s = block / PerSegment;
            BlobId[] segment;
            // Owned is set only after the segment's own array is published (see Own), so reading it
            // first never lets a write land in an array shared with another table.
            if (Volatile.Read(ref _owned[s])) segment = Volatile.Read(ref _segments[s])!;
            else if (value.IsZero && Volatile.Read(ref _segments[s]) is null) return;
            else segment = Own(s);
            segment[block % PerSegment] = value;
            _storedIds[s] = null;
        }
    }

    /// <summary>Number of blocks in segment <paramref name="s"/> (the last may be short).</summary>
    public int SegmentLength(int s) => Math.Min(PerSegment, Length - s * PerSegment);

    /// <summary>The ids of segment <paramref name="s"/>, or null when every block in it is a zero block.</summary>
    public ReadOnlySpan<BlobId> Segment(int s) => _segments[s] is { } segment ? segment.AsSpan(0, SegmentLength(s)) : default;

    public bool IsZeroSegment(int s) => _segments[s] is null;

    /// <summary>
    /// Whether segment <paramref name="s"/> is known to be the same in both tables without comparing
    /// ids: shared, zero in both, or loaded from the same stored segment (maps of two backups).
    /// </summary>
    public bool SharesSegment(BlockTable other, int s) =>
        s < other.SegmentCount && SegmentLength(s) == other.SegmentLength(s)
        && (ReferenceEquals(_segments[s], other._segments[s]) || (_storedIds[s] is { } id && other._storedIds[s] == id));

    /// <summary>The blob id segment <paramref name="s"/> was stored or loaded under, while unchanged since.</summary>
    public BlobId? StoredId(int s) => _storedIds[s];

    /// <summary>Sets segment <paramref name="s"/> from stored ids (dropped again if all zero) and remembers its blob id.</summary>
    public void LoadSegment(int s, ReadOnlySpan<BlobId> ids, BlobId storedId)
    {
        if (ids.Length != SegmentLength(s)) throw new ArgumentException($"segment {s} has {SegmentLength(s)} blocks, got {ids.Length}");
        var segment = CopyUnlessZero(ids, ids.Length);
        lock (_lock)
        {
            _segments[s] = segment;
            _owned[s] = segment is not null;
            _storedIds[s] = storedId;
        }
    }

    public void RememberStoredId(int s, BlobId id) => _storedIds[s] = id;

    /// <summary>Makes segment <paramref name="s"/> all zero blocks.</summary>
    public void ClearSegment(int s)
    {
        lock (_lock)
        {
            _segments[s] = null;
            _owned[s] = false;
            _storedIds[s] = null;
        }
    }

    /// <summary>Takes the first blocks of <paramref name="other"/> (up to this table's length), sharing its segments until they are written.</summary>
    public void CopyFrom(BlockTable other)
    {
        lock (other._lock)
        lock (_lock)
        {
            for (int s = 0; s < SegmentCount; s++)
            {
                int length = SegmentLength(s);
                if (s >= other.SegmentCount)
                {
                    (_segments[s], _owned[s], _storedIds[s]) = (null, false, null);
                }
                else if (other.SegmentLength(s) == length)
                {
                    // Shared: neither table owns it now, so a write on either side copies it first.
                    _segments[s] = other._segments[s];
                    _owned[s] = other._owned[s] = false;
                    _storedIds[s] = other._storedIds[s];
                }
                else
                {
                    // The image grew or shrank inside this segment: copy what overlaps.
                    var source = other.Segment(s);
                    var segment = CopyUnlessZero(source[..Math.Min(length, source.Length)], length);
                    (_segments[s], _owned[s], _storedIds[s]) = (segment, segment is not null, null);
                }
            }
        }
    }

    public IEnumerator<BlobId> GetEnumerator()
    {
        for (int s = 0; s < SegmentCount; s++)
        {
            var segment = _segments[s];
            int length = SegmentLength(s);
            for (int i = 0; i < length; i++) yield return segment is null ? default : segment[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The ids of data blocks only (skipping zero segments without visiting their blocks).</summary>
    public IEnumerable<(int Block, BlobId Id)> DataBlocks()
    {
        for (int s = 0; s < SegmentCount; s++)
        {
            var segment = _segments[s];
            if (segment is null) continue;
            int length = SegmentLength(s);
            for (int i = 0; i < length; i++)
                if (!segment[i].IsZero) yield return (s * PerSegment + i, segment[i]);
        }
    }

    /// <summary>A new segment array of <paramref name="length"/> starting with <paramref name="ids"/>; null when they are all zero blocks.</summary>
    private static BlobId[]? CopyUnlessZero(ReadOnlySpan<BlobId> ids, int length)
    {
        if (!ids.ContainsAnyExcept(default(BlobId))) return null;
        var segment = new BlobId[length];
        ids.CopyTo(segment);
        return segment;
    }

    private BlobId[] Own(int s)
    {
        lock (_lock)
        {
            var segment = _segments[s];
            if (segment is not null && _owned[s]) return segment;
            var copy = new BlobId[SegmentLength(s)];
            segment?.AsSpan().CopyTo(copy);
            _storedIds[s] = null;
            Volatile.Write(ref _segments[s], copy);
            Volatile.Write(ref _owned[s], true);
            return copy;
        }
    }
}
