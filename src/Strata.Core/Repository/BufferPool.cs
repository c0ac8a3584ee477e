namespace Strata.Repository;

/// <summary>
/// Reuses large buffers of one standard size (pack buffers, seal buffers). Exact sizes, where the
/// shared ArrayPool would round 16.8 MiB up to 32 MiB, and no per-thread caches, so memory stays
/// a small multiple of what is in use at once however many pool threads touch it.
/// Requests above the standard size get a one-off array that is not kept.
/// </summary>
internal sealed class BufferPool(int standardSize, int maxKept)
{
    private readonly Stack<byte[]> _free = new();

    public byte[] Rent(int minimumSize)
    {
        if (minimumSize <= standardSize)
        {
            lock (_free)
                if (_free.TryPop(out var buffer)) return buffer;
            return GC.AllocateUninitializedArray<byte>(standardSize);
        }
        return GC.AllocateUninitializedArray<byte>(minimumSize);
    }

    public void Return(byte[] buffer)
    {
        if (buffer.Length != standardSize) return;
        lock (_free)
            if (_free.Count < maxKept) _free.Push(buffer);
    }
}
