namespace Strata.Compression;

/// <summary>A few reusable native contexts, lent to one caller at a time; extras beyond the cap are disposed.</summary>
internal sealed class ContextPool<T>(Func<T> create) where T : class, IDisposable
{
    private static readonly int MaxKept = Environment.ProcessorCount * 2;
    private readonly Stack<T> _free = new();

    public T Rent()
    {
        lock (_free)
            if (_free.TryPop(out var context)) return context;
        return create();
    }

    public void Return(T context)
    {
        lock (_free)
        {
            if (_free.Count < MaxKept) { _free.Push(context); return; }
        }
        context.Dispose();
    }
}
