using Strata.Errors;

namespace Strata.Nbd;

/// <summary>
/// The files NBD exports write into (an overlay, a live-restore target): created new at the
/// image's size, never over an existing file, which may hold someone's writes.
/// </summary>
internal static class NewSparseFile
{
    /// <param name="what">How the error names the file, e.g. "overlay file /tmp/x".</param>
    /// <param name="whenExists">The whole message when the file already exists.</param>
    public static FileStream Create(string path, long size, string what, string whenExists)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new UsageException(whenExists);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot create {what}: {IoErrorText.Describe(e)}");
        }
        file.SetLength(size);
        return file;
    }
}
