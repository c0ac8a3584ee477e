namespace Strata.Storage;

/// <summary>Turns a repository location given by a user into a storage backend.</summary>
public static class StorageLocation
{
    public static IStorageBackend Open(string location)
    {
        if (location.StartsWith(S3Location.Scheme, StringComparison.Ordinal)) return new S3Backend(S3Location.Parse(location));
        if (location.StartsWith("local:", StringComparison.Ordinal)) location = location["local:".Length..];
        if (location.Contains("://", StringComparison.Ordinal))
            throw new Errors.UsageException($"repository location '{location}': not supported (use a local directory or s3:http(s)://HOST:PORT/BUCKET[/PREFIX])");
        return new LocalDirectoryBackend(location);
    }
}
