using System.Text;
using Strata.Errors;
using Strata.Replication;

namespace Strata.Tests.Replication;

public sealed class ReplicationPolicyTests
{
    private static ReplicationPolicy Parse(string json) => ReplicationPolicy.Parse(Encoding.UTF8.GetBytes(json), "test.json");

    [Fact]
    public void A_policy_names_targets_windows_limits_choice_and_retention()
    {
        var policy = Parse("""
            {
              // comments are allowed
              "source": "/srv/repo",
              "targets": [
                { "name": "eu", "repository": "s3:https://s3.eu-west-1.amazonaws.com/b/site1",
                  "windows": [ { "start": "22:00", "end": "06:00", "limit_upload_kib": 10240 } ],
                  "snapshots": "latest", "tags": ["daily"],
                  "retention": { "keep_daily": 7, "keep_weekly": 4 } },
                { "repository": "/mnt/usb/repo" },
              ]
            }
            """);

        Assert.Equal("/srv/repo", policy.Source);
        Assert.Equal(2, policy.Targets.Count);
        var eu = policy.Targets[0];
        Assert.Equal(("eu", "latest", 10240L), (eu.Name, eu.Snapshots, eu.Windows[0].LimitUploadKib!.Value));
        Assert.Equal(["daily"], eu.Tags!);
        Assert.Equal((7, 4), (eu.Retention!.KeepDaily, eu.Retention.KeepWeekly));
        Assert.Equal(("/mnt/usb/repo", "all"), (policy.Targets[1].Name, policy.Targets[1].Snapshots));
    }

    [Theory]
    [InlineData("""{"targets": []}""", "no targets")]
    [InlineData("""{"targets": [{"name": "x"}]}""", "no \"repository\"")]
    [InlineData("""{"targets": [{"repository": "/a", "windows": [{"start": "25:00", "end": "06:00"}]}]}""", "25:00")]
    [InlineData("""{"targets": [{"repository": "/a", "windows": [{"start": "7pm", "end": "06:00"}]}]}""", "7pm")]
    [InlineData("""{"targets": [{"repository": "/a", "snapshots": "some"}]}""", "\"all\" or \"latest\"")]
    [InlineData("""{"targets": [{"repository": "/a", "retention": {}}]}""", "keeps nothing")]
    [InlineData("""{"targets": [{"repository": "/a", "retention": {"keep_last": -1}}]}""", "negative")]
    [InlineData("""{"targets": [{"repository": "/a"}, {"repository": "/a"}]}""", "used twice")]
    [InlineData("""{"targets": [{"repository": "/a", "bandwidth": 5}]}""", "not valid JSON")]
    [InlineData("""{"targets": [""", "not valid JSON")]
    public void A_bad_policy_is_refused_naming_what_is_wrong(string json, string expected)
    {
        var e = Assert.Throws<UsageException>(() => Parse(json));

        Assert.Contains(expected, e.Message);
        Assert.Contains("test.json", e.Message);
    }
}
