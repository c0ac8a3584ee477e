namespace Strata.FileSystems.Ext4;

/// <summary>
/// An inode time: signed 32-bit seconds, extended by two epoch bits and carrying nanoseconds when
/// the inode is large enough for the "extra" fields (Linux ext4_decode_extra_time).
/// </summary>
public readonly record struct Ext4Timestamp(long Seconds, uint Nanoseconds)
{
    public static Ext4Timestamp Decode(uint seconds, uint? extra)
    {
        long s = (int)seconds;
        if (extra is not uint e) return new Ext4Timestamp(s, 0);
        s += (long)(e & 3) << 32;
        return new Ext4Timestamp(s, Math.Min(e >> 2, 999_999_999u));
    }

    /// <summary>Nanoseconds since the Unix epoch, saturated to what a <see cref="long"/> holds (years 1678 to 2262).</summary>
    public long UnixNanoseconds =>
        Seconds > long.MaxValue / 1_000_000_000 - 1 ? long.MaxValue
        : Seconds < long.MinValue / 1_000_000_000 + 1 ? long.MinValue
        : Seconds * 1_000_000_000 + Nanoseconds;

    public DateTimeOffset ToDateTimeOffset() =>
        DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(Seconds, -62135596800L, 253402300799L)).AddTicks(Nanoseconds / 100);
}
