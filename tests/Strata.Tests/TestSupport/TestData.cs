using System.Text;

namespace Strata.Tests.TestSupport;

/// <summary>Deterministic inputs: the same seed always gives the same bytes, so a failure can be replayed.</summary>
public static class TestData
{
    /// <summary>Incompressible bytes.</summary>
    public static byte[] RandomBytes(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Highly compressible, text-like bytes.</summary>
    public static byte[] Text(int length, int seed = 1)
    {
        string[] words = ["backup", "restore", "snapshot", "pack", "index", "blob", "tree", "chunk", "the", "a", "of", "into"];
        var random = new Random(seed);
        var text = new StringBuilder(length + 16);
        while (text.Length < length) text.Append(words[random.Next(words.Length)]).Append(random.Next(8) == 0 ? ".\n" : " ");
        return Encoding.UTF8.GetBytes(text.ToString(0, length));
    }
}
