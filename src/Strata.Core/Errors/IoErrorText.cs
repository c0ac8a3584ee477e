namespace Strata.Errors;

/// <summary>
/// The short, user-facing text of an I/O failure: the same words for the same cause whether it
/// hit the repository's disk, a source file or a restore target.
/// </summary>
public static class IoErrorText
{
    public static string Describe(Exception e) => e switch
    {
        // ENOSPC from a write carries errno 28; from .NET's preallocation (fallocate) it only says "the disk was full".
        IOException io when io.HResult == 28 || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            || io.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase) => "no space left on the device",
        IOException io when io.HResult == 122 || io.Message.Contains("quota", StringComparison.OrdinalIgnoreCase) => "disk quota exceeded",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
