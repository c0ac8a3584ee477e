namespace Strata.Tests.TestSupport;

public static class RawDisks
{
    /// <summary>Creates a sparse raw file of <paramref name="size"/> bytes at <paramref name="path"/> with the given writes.</summary>
    public static string Create(string path, long size, params (long Offset, byte[] Data)[] writes)
    {
        using var f = new FileStream(path, FileMode.Create);
        f.SetLength(size);
        foreach (var (offset, data) in writes) { f.Position = offset; f.Write(data); }
        return path;
    }
}
