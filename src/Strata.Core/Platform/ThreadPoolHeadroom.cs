namespace Strata.Platform;

/// <summary>
/// Strata's pipelines block thread-pool threads on purpose: file I/O is synchronous on Linux, and
/// a worker that fills a pack waits for a free upload slot (back-pressure). The work that frees
/// them (a pack being stored, an S3 reply) runs on the same pool. With the default minimum of one
/// thread per core that work can find every thread blocked, and the pool adds one only when its
/// starvation check runs, every 500 ms: backups showed half-second stalls at 0% CPU, about 10% of
/// their time (docs/PERFORMANCE.md, "Runtime settings"). Below the minimum the pool adds threads at once.
/// </summary>
public static class ThreadPoolHeadroom
{
    private static readonly object Gate = new();

    /// <summary>Raises the pool's minimum to at least <paramref name="threads"/> worker threads (never lowers it).</summary>
    public static void Ensure(int threads)
    {
        lock (Gate)
        {
            ThreadPool.GetMinThreads(out int workers, out int completions);
            if (workers < threads) ThreadPool.SetMinThreads(threads, completions);
        }
    }
}
