using Strata.Errors;
using Strata.Storage;

namespace Strata.Tests.Storage;

public sealed class S3LocationTests
{
    [Theory]
    [InlineData("s3:http://127.0.0.1:9000/bucket", "http://127.0.0.1:9000/", "bucket", "")]
    [InlineData("s3:https://s3.eu-west-1.amazonaws.com/my-backups/laptop", "https://s3.eu-west-1.amazonaws.com/", "my-backups", "laptop")]
    [InlineData("s3:http://minio:9000/b-1.x/a/b/c/", "http://minio:9000/", "b-1.x", "a/b/c")]
    public void A_location_names_endpoint_bucket_and_prefix(string text, string endpoint, string bucket, string prefix)
    {
        var location = S3Location.Parse(text);

        Assert.Equal(new Uri(endpoint), location.Endpoint);
        Assert.Equal(bucket, location.Bucket);
        Assert.Equal(prefix, location.Prefix);
        Assert.Equal(text.TrimEnd('/'), location.ToString());
    }

    [Fact]
    public void Keys_are_the_prefix_and_the_object_name()
    {
        Assert.Equal("a/b/data/00/0011", S3Location.Parse("s3:http://h/bucket/a/b").KeyOf("data/00/0011"));
        Assert.Equal("config", S3Location.Parse("s3:http://h/bucket").KeyOf("config"));
    }

    [Theory]
    [InlineData("s3:", "expected")]
    [InlineData("s3:ftp://host/bucket", "expected")]
    [InlineData("s3:http://host", "no bucket")]
    [InlineData("s3:http://host/", "no bucket")]
    [InlineData("s3:http://host/Bad_Bucket", "not a valid bucket name")]
    [InlineData("s3:http://host/ab", "not a valid bucket name")]
    [InlineData("s3:http://host/bucket/a//b", "prefix")]
    [InlineData("s3:http://key:secret@host/bucket", "credentials")]
    [InlineData("s3:http://host/bucket?x=1", "query")]
    public void A_bad_location_is_a_usage_error_saying_what_is_wrong(string text, string expected)
    {
        var e = Assert.Throws<UsageException>(() => S3Location.Parse(text));

        Assert.Contains(expected, e.Message);
    }
}
