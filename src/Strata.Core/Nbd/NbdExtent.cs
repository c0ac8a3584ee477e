namespace Strata.Nbd;

/// <summary>One extent of an NBD_REPLY_TYPE_BLOCK_STATUS answer: a byte range and its status flags in one meta context.</summary>
public readonly record struct NbdExtent(long Offset, long Length, uint Flags)
{
    public long End => Offset + Length;
}
