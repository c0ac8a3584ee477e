using System.Text.Json.Nodes;
using Strata.Errors;
using Strata.Retention;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Retention;

public class RetentionPolicyDocumentTests
{
    private const string TiersJson = """
        {
          "keep_last": 2,
          "keep_daily": "unlimited",
          "keep_within": "36h",
          "keep_within_weekly": "2m",
          "keep_tags": ["release", ["nightly", "verified"]],
          // comments and trailing commas are fine in a hand-written file
          "tiers": [
            {"within": "24h", "every": "all"},
            {"within": "7d", "every": "hour"},
            {"within": "30d", "every": "day"},
            {"within": "1y", "every": "month"},
          ],
          "group_by": ["host"],
          "time_zone": "Europe/Berlin"
        }
        """;

    private const string TiersYaml = """
        # the same policy in YAML
        keep_last: 2
        keep_daily: -1
        keep_within: 36h
        keep_within_weekly: 2m
        keep_tags:
          - release
          - nightly,verified
        tiers:
          - {within: 24h, every: all}
          - within: 7d
            every: hour
          - {within: 30d, every: day}
          - {within: 1y, every: month}
        group_by: host
        time_zone: Europe/Berlin
        """;

    [Fact]
    public void Json_and_yaml_files_say_the_same_thing()
    {
        var json = RetentionPolicyDocument.Parse(TiersJson, "p.json", yaml: false);
        var yaml = RetentionPolicyDocument.Parse(TiersYaml, "p.yaml", yaml: true);

        Assert.Equal(RetentionPolicyDocument.ToJson(json).ToJsonString(), RetentionPolicyDocument.ToJson(yaml).ToJsonString());
        Assert.Equal(2, json.KeepLast);
        Assert.Equal(-1, json.KeepDaily);
        Assert.Equal(SnapshotGrouping.Host, json.GroupBy);
        Assert.Equal("Europe/Berlin", json.TimeZone);
        Assert.Equal([["release"], ["nightly", "verified"]], json.KeepTags.Select(t => t.ToArray()).ToArray());
        Assert.Equal(
            ["within 36h", "weekly within 2m", "within 24h", "hourly within 7d", "daily within 30d", "monthly within 1y"],
            json.Tiers.Select(t => t.Reason).ToArray());
    }

    [Fact]
    public void The_canonical_form_reads_back_as_the_same_policy()
    {
        var policy = RetentionPolicyDocument.Parse(TiersYaml, "p.yaml", yaml: true);
        var canonical = RetentionPolicyDocument.ToJson(policy).ToJsonString();

        var again = RetentionPolicyDocument.Parse(canonical, "canonical", yaml: false);

        Assert.Equal(canonical, RetentionPolicyDocument.ToJson(again).ToJsonString());
        Assert.Equal("""{"within":"36h","every":"all"}""", JsonNode.Parse(canonical)!["tiers"]![0]!.ToJsonString());
    }

    [Fact]
    public void Defaults_group_by_host_and_paths_in_the_local_zone()
    {
        var policy = RetentionPolicyDocument.Parse("keep_daily: 7", "p", yaml: true);
        Assert.Equal(SnapshotGroupings.Default, policy.GroupBy);
        Assert.Null(policy.TimeZone);
        Assert.Equal(SnapshotGrouping.None, RetentionPolicyDocument.Parse("""{"keep_daily": 7, "group_by": ""}""", "p", yaml: false).GroupBy);
    }

    [Theory]
    [InlineData("""{"keep_dayly": 7}""", "unknown setting 'keep_dayly'")]
    [InlineData("""{"keep_daily": "seven"}""", "keep_daily: \"seven\" is not a count")]
    [InlineData("""{"keep_daily": -2}""", "keep_daily: -2 is not a count")]
    [InlineData("""{"keep_daily": 1.5}""", "keep_daily: 1.5 is not a count")]
    [InlineData("""{"keep_daily": 99999999999}""", "keep_daily: 99999999999 is too large")]
    [InlineData("""{"keep_within": "7x"}""", "keep_within: '7x' is not a duration")]
    [InlineData("""{"tiers": {"within": "7d"}}""", "tiers: expected a list")]
    [InlineData("""{"tiers": [{"within": "7d"}]}""", "tiers[0]: 'every' is missing")]
    [InlineData("""{"tiers": [{"every": "day"}]}""", "tiers[0]: 'within' is missing")]
    [InlineData("""{"tiers": [{"within": "7d", "every": "fortnight"}]}""", "tiers[0].every: 'fortnight' is not a period")]
    [InlineData("""{"tiers": [{"within": "7d", "every": "day", "count": 3}]}""", "tiers[0]: unknown setting 'count'")]
    [InlineData("""{"keep_tags": ["a,,b"]}""", "keep_tags: an entry names an empty tag")]
    [InlineData("""{"group_by": "hostname,color"}""", "group_by: 'color' is not a grouping")]
    [InlineData("""{"time_zone": "Mars/Olympus"}""", "time_zone: 'Mars/Olympus' is not a known time zone")]
    [InlineData("""{"keep_daily": 1, "keep_daily": 2}""", "not valid JSON")]
    [InlineData("""[1, 2]""", "a policy is a JSON object")]
    [InlineData("""{"keep_daily": 1""", "not valid JSON")]
    public void Bad_json_settings_are_named(string text, string expected)
    {
        var e = Assert.Throws<UsageException>(() => RetentionPolicyDocument.Parse(text, "p.json", yaml: false));
        Assert.StartsWith("p.json: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("keep_daily: 1\nkeep_daily: 2", "line 2")]
    [InlineData("tiers: [", "not valid YAML (line")]
    [InlineData("- keep_daily", "a policy is a mapping")]
    [InlineData("keep_daily: '7'\nkeep_weekly: 4\nbogus: 1", "unknown setting 'bogus'")]
    [InlineData("a: &x 1\nb: *x", "unknown setting 'a'")]
    public void Bad_yaml_is_named(string text, string expected)
    {
        var e = Assert.Throws<UsageException>(() => RetentionPolicyDocument.Parse(text, "p.yaml", yaml: true));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Files_are_read_as_yaml_or_json_by_name_or_content()
    {
        using var folder = new TempFolder("policy");
        File.WriteAllText(folder.Combine("a.yml"), "keep_last: 4");
        File.WriteAllText(folder.Combine("b.json"), """{"keep_last": 5}""");
        File.WriteAllText(folder.Combine("c"), """ {"keep_last": 6}""");
        File.WriteAllText(folder.Combine("d"), "keep_last: 7");

        Assert.Equal([4, 5, 6, 7], new[] { "a.yml", "b.json", "c", "d" }.Select(n => RetentionPolicyDocument.ParseFile(folder.Combine(n)).KeepLast).ToArray());
        var missing = Assert.Throws<UsageException>(() => RetentionPolicyDocument.ParseFile(folder.Combine("none.json")));
        Assert.Contains("cannot read policy file", missing.Message);
    }
}
