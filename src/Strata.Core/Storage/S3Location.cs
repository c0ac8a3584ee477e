using Strata.Errors;

namespace Strata.Storage;

/// <summary>
/// A repository in an S3-compatible object store, written <c>s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]</c>.
/// Objects are stored under <c>PREFIX/</c> with their repository names (FORMAT.md §1).
/// </summary>
public sealed record S3Location(Uri Endpoint, string Bucket, string Prefix)
{
    public const string Scheme = "s3:";

    /// <summary>The key of a repository object: the prefix (if any), a slash, the name.</summary>
    public string KeyOf(string name) => Prefix.Length == 0 ? name : $"{Prefix}/{name}";

    public override string ToString() =>
        $"{Scheme}{Endpoint.GetLeftPart(UriPartial.Authority)}/{Bucket}{(Prefix.Length == 0 ? "" : "/" + Prefix)}";

    public static S3Location Parse(string location)
    {
        if (!location.StartsWith(Scheme, StringComparison.Ordinal))
            throw new UsageException($"'{location}' is not an S3 location (expected s3:http(s)://HOST:PORT/BUCKET[/PREFIX])");
        var rest = location[Scheme.Length..];
        if (!Uri.TryCreate(rest, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new UsageException($"repository location '{location}': expected s3:http(s)://HOST:PORT/BUCKET[/PREFIX]");
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
            throw new UsageException($"repository location '{location}': no query, fragment or user info allowed (credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)");
        var path = Uri.UnescapeDataString(uri.AbsolutePath).Trim('/');
        if (path.Length == 0) throw new UsageException($"repository location '{location}': no bucket named (expected s3:http(s)://HOST:PORT/BUCKET[/PREFIX])");
        int slash = path.IndexOf('/');
        var bucket = slash < 0 ? path : path[..slash];
        var prefix = slash < 0 ? "" : path[(slash + 1)..].Trim('/');
        if (!IsValidBucketName(bucket))
            throw new UsageException($"repository location '{location}': '{bucket}' is not a valid bucket name (3-63 characters: a-z, 0-9, '.', '-')");
        if (prefix.Length > 0 && prefix.Split('/').Any(part => part is "" or "." or ".."))
            throw new UsageException($"repository location '{location}': the prefix '{prefix}' has an empty, '.' or '..' part");
        return new S3Location(new Uri(uri.GetLeftPart(UriPartial.Authority)), bucket, prefix);
    }

    private static bool IsValidBucketName(string name) =>
        name.Length is >= 3 and <= 63
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-')
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1]);
}
