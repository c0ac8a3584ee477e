namespace Strata.Storage;

/// <summary>
/// A token bucket shared by every transfer in one direction: callers ask for the bytes they are
/// about to move (or just moved) and wait until the rate allows them. Concurrent callers queue
/// behind each other's debt, so the sum of all transfers keeps to the rate. Requests larger than
/// the burst are charged in burst-sized steps, so a big object waits in several short sleeps.
/// </summary>
public sealed class BandwidthLimiter
{
    private readonly double _bytesPerSecond;
    private readonly long _burst;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private double _available;
    private long _lastTimestamp;

    public BandwidthLimiter(long bytesPerSecond, TimeProvider? time = null)
    {
        if (bytesPerSecond <= 0) throw new ArgumentOutOfRangeException(nameof(bytesPerSecond), "the rate must be positive");
        _bytesPerSecond = bytesPerSecond;
        _burst = Math.Max(bytesPerSecond / 8, 16 << 10);
        _time = time ?? TimeProvider.System;
        _available = _burst;
        _lastTimestamp = _time.GetTimestamp();
    }

    public long BytesPerSecond => (long)_bytesPerSecond;

    /// <summary>From a user's KiB/s (the unit of --limit-upload/--limit-download); null or 0 means unlimited.</summary>
    public static BandwidthLimiter? FromKibPerSecond(long? kib) =>
        kib is null or 0 ? null
        : kib < 0 ? throw new Errors.UsageException($"a bandwidth limit must be a positive number of KiB/s, not {kib}")
        : new BandwidthLimiter(kib.Value * 1024);

    public async Task WaitAsync(long bytes, CancellationToken ct = default)
    {
        while (bytes > 0)
        {
            long step = Math.Min(bytes, _burst);
            TimeSpan wait;
            lock (_lock)
            {
                var now = _time.GetTimestamp();
                _available = Math.Min(_burst, _available + _time.GetElapsedTime(_lastTimestamp, now).TotalSeconds * _bytesPerSecond);
                _lastTimestamp = now;
                _available -= step;
                wait = _available >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_available / _bytesPerSecond);
            }
            if (wait > TimeSpan.Zero) await Task.Delay(wait, _time, ct).ConfigureAwait(false);
            bytes -= step;
        }
    }
}
