using System.Runtime.InteropServices;

namespace Strata.Platform;

/// <summary>
/// A failed libc call: the errno and the path it was about, so that a backup can list the file it
/// could not read and a restore can say which file it could not create.
/// </summary>
public sealed class PosixException : IOException
{
    public PosixException(int errno, string path)
        : this(errno, path, detail: null)
    {
    }

    /// <param name="detail">Extra context for the message, e.g. the other path of a link.</param>
    public PosixException(int errno, string path, string? detail)
        : base(Describe(errno, path, detail))
    {
        Errno = errno;
        Path = path;
    }

    public int Errno { get; }

    public string Path { get; }

    /// <summary>"permission denied: /x/y": strerror text first, as coreutils print it.</summary>
    private static string Describe(int errno, string path, string? detail)
    {
        string text = Marshal.GetPInvokeErrorMessage(errno);
        if (text.Length > 0)
            text = char.ToLowerInvariant(text[0]) + text[1..];
        return detail is null ? $"{text}: {path}" : $"{text}: {path} ({detail})";
    }
}
