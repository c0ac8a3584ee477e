namespace Strata.Images;

/// <summary>A byte range of a disk image.</summary>
public readonly record struct ImageExtent(long Offset, long Length)
{
    public long End => Offset + Length;

    public override string ToString() => $"{Offset}+{Length}";
}
