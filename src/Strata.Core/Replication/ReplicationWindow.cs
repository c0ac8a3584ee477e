using System.Globalization;
using System.Text.Json.Serialization;
using Strata.Errors;

namespace Strata.Replication;

/// <summary>
/// A daily time window, in the machine's local time, e.g. 22:00–06:00 (crossing midnight); start
/// equal to end means the whole day. The start is inside the window, the end is not.
/// </summary>
public sealed class ReplicationWindow
{
    [JsonPropertyName("start")] public string Start { get; set; } = "00:00";
    [JsonPropertyName("end")] public string End { get; set; } = "00:00";
    /// <summary>Upload limit while this window is open, KiB/s; null = the target's limit.</summary>
    [JsonPropertyName("limit_upload_kib")] public long? LimitUploadKib { get; set; }

    [JsonIgnore] public TimeOnly StartTime => ParseTime(Start);
    [JsonIgnore] public TimeOnly EndTime => ParseTime(End);

    internal void Validate(string label)
    {
        foreach (var value in new[] { Start, End })
            if (!TryParseTime(value, out _)) throw new UsageException($"{label}: window time \"{value}\" is not HH:MM (00:00 to 24:00)");
        if (LimitUploadKib is < 0) throw new UsageException($"{label}: a window's \"limit_upload_kib\" must not be negative");
    }

    public bool Contains(TimeOnly time)
    {
        var (start, end) = (StartTime, EndTime);
        if (start == end) return true;
        return start < end ? time >= start && time < end : time >= start || time < end;
    }

    /// <summary>When the window that is open at <paramref name="now"/> closes (null: it never does).</summary>
    public DateTime? ClosesAfter(DateTime now)
    {
        var (start, end) = (StartTime, EndTime);
        if (start == end) return null;
        var closing = now.Date + end.ToTimeSpan();
        return closing > now ? closing : closing.AddDays(1);
    }

    /// <summary>When the window next opens after <paramref name="now"/>.</summary>
    public DateTime NextOpening(DateTime now)
    {
        var opening = now.Date + StartTime.ToTimeSpan();
        return opening > now ? opening : opening.AddDays(1);
    }

    private static TimeOnly ParseTime(string value) =>
        TryParseTime(value, out var t) ? t : throw new UsageException($"window time \"{value}\" is not HH:MM");

    private static bool TryParseTime(string value, out TimeOnly time)
    {
        // 24:00 is the end of the day: the same instant as 00:00 of the next one.
        if (value == "24:00") { time = TimeOnly.MinValue; return true; }
        return TimeOnly.TryParseExact(value, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
    }
}
