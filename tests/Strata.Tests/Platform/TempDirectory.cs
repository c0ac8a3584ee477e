namespace Strata.Tests.Platform;

/// <summary>A fresh directory under the system temp directory, deleted with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "strata-platform-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public string WriteFile(string name, string content = "")
    {
        string path = Combine(name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        // Tests take permissions away; give them back so the tree can be removed.
        foreach (string dir in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories))
            if (!File.GetAttributes(dir).HasFlag(FileAttributes.ReparsePoint))
                Strata.Platform.Posix.Chmod(dir, Octal.Of("700"));
        Directory.Delete(Path, recursive: true);
    }
}

internal static class Octal
{
    /// <summary>C# has no octal literals; permissions read best in octal.</summary>
    public static uint Of(string digits) => Convert.ToUInt32(digits, 8);
}
