namespace Strata.Storage;

/// <summary>Turns a repository location given by a user into a storage backend.</summary>
public static class StorageLocation
{
    public static IStorageBackend Open(string location)
    {
        if (location.StartsWith("local:", StringComparison.Ordinal)) location = location["local:".Length..];
        if (location.Contains("://", StringComparison.Ordinal) || location.StartsWith("s3:", StringComparison.Ordinal))
            throw new Errors.UsageException($"repository location '{location}': only local directories are supported by this build");
        return new LocalDirectoryBackend(location);
    }
}
