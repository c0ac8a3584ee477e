using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Snapshots;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>
/// strata forget and strata policy on real repositories: one real backup, then recovery points at
/// chosen times made from it (same tree, so every one of them restores).
/// </summary>
public sealed class ForgetCommandTests : IDisposable
{
    private readonly CliWorkspace _ws = new("forget");
    private readonly TreeBuilder _tree;
    private readonly Snapshot _template;

    public ForgetCommandTests()
    {
        _tree = _ws.Tree("src").File("a.txt", "alpha\n").RandomFile("b.bin", 300_000, seed: 3).File("dir/c.txt", "gamma\n");
        _ws.Init();
        _ws.Backup(_tree.Root);
        _template = LoadRealSnapshot().GetAwaiter().GetResult();
    }

    private async Task<Snapshot> LoadRealSnapshot()
    {
        using var repo = await TestRepositories.OpenAsync(_ws.RepositoryPath, CliRunner.DefaultPassword);
        return (await repo.ListSnapshotsAsync()).Single();
    }

    public void Dispose() => _ws.Dispose();

    /// <summary>Stores a copy of the real snapshot at each UTC time ("2026-03-28T22:30Z"); returns their ids in order.</summary>
    private List<string> SnapshotsAt(string host, string[]? tags, params string[] times) => SnapshotsAtAsync(host, tags, times).GetAwaiter().GetResult();

    private async Task<List<string>> SnapshotsAtAsync(string host, string[]? tags, string[] times)
    {
        using var repo = await TestRepositories.OpenAsync(_ws.RepositoryPath, CliRunner.DefaultPassword);
        var ids = new List<string>();
        foreach (var time in times)
        {
            var copy = JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(_template, StrataJson.Default.Snapshot), StrataJson.Default.Snapshot)!;
            copy.Time = DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture);
            copy.Hostname = host;
            copy.Tags = tags?.ToList();
            copy.Parent = null;
            ids.Add((await repo.SaveSnapshotAsync(copy)).ToString());
        }
        return ids;
    }

    private HashSet<string> StoredIds() =>
        Directory.EnumerateFiles(Path.Combine(_ws.RepositoryPath, "snapshots")).Select(Path.GetFileName).ToHashSet()!;

    private void RemoveTheRealBackup()
    {
        var real = (string)Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json)[0]!["id"]!;
        _ws.Cli.Run("forget", "--keep-tag", "none-has-this", "--unsafe-allow-remove-all").ShouldSucceed();
        Assert.DoesNotContain(real, StoredIds());
    }

    [Fact]
    public void Dry_run_lists_every_snapshot_with_keep_or_remove_and_the_rules_that_kept_it()
    {
        RemoveTheRealBackup();
        var ids = SnapshotsAt("laptop", null, "2026-01-01T10:00Z", "2026-01-02T09:00Z", "2026-01-02T10:00Z", "2026-01-03T10:00Z");
        var before = StoredIds();

        var json = _ws.Cli.Run("forget", "--keep-last", "1", "--keep-daily", "2", "--dry-run", "--json", "--time-zone", "UTC").ShouldSucceed();
        var text = _ws.Cli.Run("forget", "--keep-last", "1", "--keep-daily", "2", "--dry-run", "--time-zone", "UTC").ShouldSucceed();

        Assert.Equal(before, StoredIds());
        var group = json.JsonObjects.Single(o => (string?)o["message_type"] == "group");
        Assert.Equal("laptop", (string?)group["host"]);
        var decisions = group["snapshots"]!.AsArray().ToDictionary(s => (string)s!["id"]!, s => ((string)s!["action"]!, string.Join(", ", s["reasons"]!.AsArray().Select(r => (string)r!))));
        Assert.Equal(("keep", "last, daily"), decisions[ids[3]]);
        Assert.Equal(("keep", "daily"), decisions[ids[2]]);
        Assert.Equal(("remove", ""), decisions[ids[1]]);
        Assert.Equal(("remove", ""), decisions[ids[0]]);
        var summary = json.Summary;
        Assert.True((bool)summary["dry_run"]!);
        Assert.Equal(2, (int)summary["kept"]!);
        Assert.Equal(2, (int)summary["would_remove"]!);
        Assert.Equal(0, (int)summary["removed"]!);

        var lines = text.StdOutLines.ToList();
        Assert.Contains(lines, l => l.StartsWith(ids[3][..8]) && l.Contains(" keep ") && l.EndsWith("last, daily"));
        Assert.Contains(lines, l => l.StartsWith(ids[0][..8]) && l.Contains(" remove"));
        Assert.Contains("nothing was removed", text.StdOut);
    }

    [Fact]
    public void Forget_removes_what_the_rules_do_not_keep_says_so_and_the_rest_still_restores()
    {
        RemoveTheRealBackup();
        var ids = SnapshotsAt("laptop", null, "2026-01-01T10:00Z", "2026-01-02T09:00Z", "2026-01-02T10:00Z", "2026-01-03T10:00Z", "2026-01-03T11:00Z");

        var result = _ws.Cli.Run("forget", "--keep-daily", "2", "--time-zone", "UTC").ShouldSucceed().ShouldNotShowStackTrace();

        Assert.Equal(new HashSet<string> { ids[2], ids[4] }, StoredIds());
        foreach (var gone in new[] { ids[0], ids[1], ids[3] })
            Assert.Contains(result.StdOutLines, l => l.StartsWith($"removed snapshot {gone[..8]}"));
        Assert.Contains("kept 2, removed 3 snapshots", result.StdOut);
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
        var target = _ws.PathOf("restored");
        _ws.Cli.Run("restore", ids[2][..8], "--target", target).ShouldSucceed();
        TreeComparison.AssertSame(_tree.Root, CliWorkspace.Restored(target, _tree.Root));
    }

    [Fact]
    public void Snapshots_named_by_id_are_removed_exactly_and_nothing_is_removed_when_one_name_is_wrong()
    {
        var ids = SnapshotsAt("laptop", null, "2026-01-01T10:00Z", "2026-01-02T10:00Z", "2026-01-03T10:00Z");
        var before = StoredIds();

        var dry = _ws.Cli.Run("forget", ids[0][..8], ids[2][..10], "--dry-run").ShouldSucceed();
        Assert.Contains("would remove 2 snapshots", dry.StdOut);
        Assert.Equal(before, StoredIds());

        // One name that resolves to nothing (or to several) stops the whole command before any delete.
        Assert.Contains("no snapshot", _ws.Cli.Run("forget", ids[0][..8], "abcdef99").ShouldExitWith(1).StdErr);
        Assert.Contains("not a snapshot id", _ws.Cli.Run("forget", ids[0][..8], "xyz").ShouldExitWith(1).StdErr);
        Assert.Equal(before, StoredIds());

        var result = _ws.Cli.Run("forget", ids[0][..8], ids[2][..10], ids[0][..8], "--json").ShouldSucceed().ShouldNotShowStackTrace();
        Assert.Equal([ids[0], ids[2]], result.Summary["removed_ids"]!.AsArray().Select(n => (string)n!).ToList());
        Assert.Equal(before.Except([ids[0], ids[2]]).ToHashSet(), StoredIds());
        _ws.Cli.Run("check").ShouldSucceed();

        Assert.Contains("not both", _ws.Cli.Run("forget", ids[1][..8], "--keep-last", "1").ShouldExitWith(1).StdErr);
        Assert.Contains("not both", _ws.Cli.Run("forget", ids[1][..8], "--host", "laptop").ShouldExitWith(1).StdErr);
        Assert.Contains(ids[1], StoredIds());
    }

    [Fact]
    public void Forget_json_reports_each_removal_and_a_summary()
    {
        var ids = SnapshotsAt("laptop", null, "2026-01-01T10:00Z", "2026-01-02T10:00Z");

        var result = _ws.Cli.Run("forget", "--keep-last", "1", "--host", "laptop", "--json").ShouldSucceed();

        var removed = result.JsonObjects.Where(o => (string?)o["message_type"] == "removed").Select(o => (string)o["id"]!).ToList();
        Assert.Equal([ids[0]], removed);
        Assert.Equal([ids[0]], result.Summary["removed_ids"]!.AsArray().Select(n => (string)n!).ToList());
        Assert.Equal("flags", (string?)result.Summary["policy_source"]);
        Assert.Equal(1, (int)result.Summary["policy"]!["keep_last"]!);
    }

    [Fact]
    public void Host_path_and_tag_filters_limit_what_forget_considers()
    {
        var real = StoredIds().Single();
        var laptop = SnapshotsAt("laptop", null, "2026-01-01T10:00Z", "2026-01-02T10:00Z");
        var server = SnapshotsAt("server", ["nightly"], "2026-01-01T10:00Z", "2026-01-02T10:00Z");

        _ws.Cli.Run("forget", "--keep-last", "1", "--host", "server").ShouldSucceed();
        Assert.Equal(new HashSet<string> { real, laptop[0], laptop[1], server[1] }, StoredIds());

        _ws.Cli.Run("forget", "--keep-last", "1", "--tag", "nightly", "--host", "laptop").ShouldSucceed();
        Assert.Equal(4, StoredIds().Count);

        _ws.Cli.Run("forget", "--keep-last", "1", "--path", _tree.Root, "--group-by", "paths").ShouldSucceed();
        Assert.Equal(new HashSet<string> { real }, StoredIds()); // the real backup is the newest of that path
    }

    [Fact]
    public void Days_follow_the_time_zone_given_or_the_local_one()
    {
        RemoveTheRealBackup();
        // 22:30Z is 23:30 on the 28th in Berlin; 23:30Z is already the 29th there. In UTC both are the 28th.
        var ids = SnapshotsAt("laptop", null, "2026-03-27T12:00Z", "2026-03-28T22:30Z", "2026-03-28T23:30Z");

        string[] Kept(CliRunner cli, params string[] zone)
        {
            var r = cli.Run(["forget", "--keep-daily", "2", "--dry-run", "--json", .. zone]).ShouldSucceed();
            return r.JsonObjects.Where(o => (string?)o["message_type"] == "group").SelectMany(g => g["snapshots"]!.AsArray())
                .Where(s => (string)s!["action"]! == "keep").Select(s => (string)s!["id"]!).Order().ToArray();
        }

        Assert.Equal(new[] { ids[0], ids[2] }.Order(), Kept(_ws.Cli, "--time-zone", "UTC"));
        Assert.Equal(new[] { ids[1], ids[2] }.Order(), Kept(_ws.Cli, "--time-zone", "Europe/Berlin"));
        Assert.Equal(new[] { ids[1], ids[2] }.Order(), Kept(_ws.Cli.WithEnvironment("TZ", "Europe/Berlin")));
        Assert.Equal(new[] { ids[0], ids[2] }.Order(), Kept(_ws.Cli.WithEnvironment("TZ", "UTC")));
    }

    [Fact]
    public void A_yaml_policy_file_with_tiers_drives_forget()
    {
        RemoveTheRealBackup();
        var ids = SnapshotsAt("laptop", null,
            "2025-01-15T10:00Z",                                         // beyond the year
            "2025-12-10T10:00Z", "2025-12-20T10:00Z",                    // December: its newest
            "2026-01-10T10:00Z", "2026-01-10T20:00Z",                    // a day within 30 days: its newest
            "2026-01-28T10:10Z", "2026-01-28T10:50Z",                    // an hour within 7 days: its newest
            "2026-02-01T08:00Z", "2026-02-01T12:00Z");                   // within 24 hours: all
        var file = _ws.PathOf("retention.yaml");
        File.WriteAllText(file, """
            # every point for 24 h, hourly for 7 days, daily for 30 days, monthly for a year
            tiers:
              - {within: 24h, every: all}
              - {within: 7d, every: hour}
              - {within: 30d, every: day}
              - {within: 1y, every: month}
            time_zone: UTC
            """);

        var result = _ws.Cli.Run("forget", "--policy", file).ShouldSucceed();

        Assert.Equal(new HashSet<string> { ids[2], ids[4], ids[6], ids[7], ids[8] }, StoredIds());
        Assert.Contains($"rules from policy file {file}", result.StdOut);
    }

    [Fact]
    public void A_policy_stored_in_the_repository_is_applied_by_forget_without_flags()
    {
        RemoveTheRealBackup();
        var ids = SnapshotsAt("laptop", null, "2026-01-01T10:00Z", "2026-01-02T10:00Z", "2026-01-03T10:00Z");
        var file = _ws.PathOf("policy.json");
        File.WriteAllText(file, """{"keep_last": 2, "time_zone": "Europe/Berlin"}""");

        _ws.Cli.Run("policy", "set", file).ShouldSucceed();
        File.Delete(file); // stored in the repository, not referenced
        var shown = _ws.Cli.Run("policy", "show", "--json").ShouldSucceed().Json;
        Assert.Equal(2, (int)shown["keep_last"]!);
        Assert.Equal("Europe/Berlin", (string?)shown["time_zone"]);
        Assert.Contains("keep the last 2 snapshots", _ws.Cli.Run("policy", "show").ShouldSucceed().StdOut);

        var forget = _ws.Cli.Run("forget").ShouldSucceed();

        Assert.Contains("rules from the repository's policy", forget.StdOut);
        Assert.Equal(new HashSet<string> { ids[1], ids[2] }, StoredIds());

        _ws.Cli.Run("policy", "clear").ShouldSucceed();
        Assert.Equal("null", _ws.Cli.Run("policy", "show", "--json").ShouldSucceed().StdOut.Trim());
        var refused = _ws.Cli.Run("forget").ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("no keep rules", refused.StdErr);
        Assert.Equal(2, StoredIds().Count);
    }

    [Fact]
    public void Flags_override_nothing_silently_the_stored_policy_is_only_used_without_rules()
    {
        SnapshotsAt("laptop", null, "2026-01-01T10:00Z", "2026-01-02T10:00Z", "2026-01-03T10:00Z");
        var file = _ws.PathOf("policy.json");
        File.WriteAllText(file, """{"keep_last": 3}""");
        _ws.Cli.Run("policy", "set", file).ShouldSucceed();

        _ws.Cli.Run("forget", "--keep-last", "1", "--host", "laptop").ShouldSucceed();

        Assert.Equal(2, StoredIds().Count); // the real backup (another host) and the newest laptop one
        var both = _ws.Cli.Run("forget", "--keep-last", "1", "--policy", file).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("not both", both.StdErr);
    }

    [Fact]
    public void Rules_that_would_remove_every_snapshot_are_refused_and_nothing_is_removed()
    {
        SnapshotsAt("laptop", null, "2026-01-01T10:00Z", "2026-01-02T10:00Z");
        var before = StoredIds();

        var none = _ws.Cli.Run("forget").ShouldExitWith(1).ShouldNotShowStackTrace();
        var tagOnly = _ws.Cli.Run("forget", "--keep-tag", "important").ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains("no keep rules", none.StdErr);
        Assert.Contains("refusing to remove every snapshot of host", tagOnly.StdErr);
        Assert.Equal(before, StoredIds());
    }

    [Theory]
    [InlineData("--keep-within 7x", "--keep-within: '7x' is not a duration")]
    [InlineData("--keep-within-daily 0d", "--keep-within-daily: '0d' is zero")]
    [InlineData("--keep-last -3", "--keep-last: -3 is not a count")]
    [InlineData("--keep-last 1 --group-by host,color", "--group-by: 'color' is not a grouping")]
    [InlineData("--keep-last 1 --time-zone Mars/Olympus", "--time-zone: 'Mars/Olympus' is not a known time zone")]
    [InlineData("--policy /nonexistent/policy.yaml", "cannot read policy file /nonexistent/policy.yaml")]
    public void Bad_flags_are_named_and_nothing_is_removed(string args, string expected)
    {
        SnapshotsAt("laptop", null, "2026-01-01T10:00Z");
        var before = StoredIds();

        var result = _ws.Cli.Run(["forget", .. args.Split(' ')]).ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains(expected, Assert.Single(result.StdErrLines));
        Assert.Equal(before, StoredIds());
    }

    [Fact]
    public void Policy_set_rejects_a_bad_file_and_keeps_the_stored_policy()
    {
        var good = _ws.PathOf("good.yaml");
        var bad = _ws.PathOf("bad.yaml");
        File.WriteAllText(good, "keep_daily: 7\n");
        File.WriteAllText(bad, "keep_daly: 7\n");
        _ws.Cli.Run("policy", "set", good).ShouldSucceed();

        var result = _ws.Cli.Run("policy", "set", bad).ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains("unknown setting 'keep_daly'", result.StdErr);
        Assert.Equal(7, (int)_ws.Cli.Run("policy", "show", "--json").ShouldSucceed().Json["keep_daily"]!);
    }
}
