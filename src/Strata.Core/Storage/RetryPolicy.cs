namespace Strata.Storage;

/// <summary>
/// Retries an operation that failed for a reason that may pass (a 5xx, a dropped connection, a
/// timeout) with exponential backoff and full jitter: attempt n waits a random time in
/// [0, min(MaxDelay, BaseDelay·2ⁿ)], so many clients that failed together do not retry together.
/// Only operations that are safe to repeat are wrapped (every storage call is, by the backend contract).
/// </summary>
public sealed class RetryPolicy
{
    public static readonly RetryPolicy Default = new();

    public int MaxAttempts { get; init; } = 8;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Called before each retry with the attempt that failed (1-based) and its error; for logs and tests.</summary>
    public Action<int, Exception>? OnRetry { get; init; }

    /// <summary>How long to wait after failed attempt <paramref name="attempt"/> (1-based), given a random draw in [0, 1).</summary>
    public TimeSpan DelayAfter(int attempt, double random)
    {
        double ceiling = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30)));
        return TimeSpan.FromMilliseconds(ceiling * random);
    }

    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, Func<Exception, bool> isTransient, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < MaxAttempts && isTransient(e))
            {
                // A failure caused by the caller's cancellation is not worth a retry: report the cancellation.
                ct.ThrowIfCancellationRequested();
                OnRetry?.Invoke(attempt, e);
                await Task.Delay(DelayAfter(attempt, Random.Shared.NextDouble()), ct).ConfigureAwait(false);
            }
        }
    }

    public Task RunAsync(Func<CancellationToken, Task> operation, Func<Exception, bool> isTransient, CancellationToken ct) =>
        RunAsync(async token => { await operation(token).ConfigureAwait(false); return true; }, isTransient, ct);
}
