using System.Text.Json.Nodes;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary><c>strata replicate --policy</c> with two targets: a local directory and a bucket in a real S3 server.</summary>
[Collection("S3")]
public sealed class ReplicateCommandTests : IDisposable
{
    private readonly S3Server _server;
    private readonly CliWorkspace _ws = new("replicatecli");
    private readonly TreeBuilder _tree;

    public ReplicateCommandTests(S3Server server)
    {
        _server = server;
        _tree = _ws.Tree("src");
        _tree.RandomFile("big.bin", 2_000_000, seed: 1);
        for (int i = 0; i < 10; i++) _tree.TextFile($"logs/{i}.log", 20_000, seed: i);
    }

    public void Dispose() => _ws.Dispose();

    private CliRunner Cli => S3Server.WithCredentials(_ws.Cli).WithEnvironment("STRATA_CACHE_DIR", _ws.PathOf("cache"));

    private string WritePolicy(JsonObject policy)
    {
        var path = _ws.PathOf("policy.json");
        File.WriteAllText(path, policy.ToJsonString());
        return path;
    }

    private static JsonArray Closed()
    {
        // A window that opens an hour from now and closes an hour later: surely closed now.
        var start = DateTime.Now.AddHours(1);
        return [new JsonObject { ["start"] = start.ToString("HH:00"), ["end"] = start.AddHours(1).ToString("HH:00") }];
    }

    [Fact]
    public void Two_targets_get_the_snapshots_and_a_second_run_sends_nothing()
    {
        var bucket = _server.NewLocation();
        Cli.Run("init").ShouldSucceed();
        Cli.Run("backup", "--host", "alpha", _tree.Root).ShouldSucceed();
        Cli.Run("backup", "--host", "beta", _tree.Root).ShouldSucceed();
        Cli.WithRepository(_ws.PathOf("usb")).Run("init").ShouldSucceed();
        Cli.WithRepository(bucket).WithPassword("cloud password").Run("init").ShouldSucceed();
        File.WriteAllText(_ws.PathOf("cloud.pass"), "cloud password\n");
        var policy = WritePolicy(new JsonObject
        {
            ["source"] = _ws.RepositoryPath,
            ["targets"] = new JsonArray(
                new JsonObject { ["name"] = "usb", ["repository"] = _ws.PathOf("usb") },
                new JsonObject
                {
                    ["name"] = "cloud", ["repository"] = bucket, ["password_file"] = _ws.PathOf("cloud.pass"),
                    ["windows"] = new JsonArray(new JsonObject { ["start"] = "00:00", ["end"] = "24:00", ["limit_upload_kib"] = 100_000 }),
                    ["snapshots"] = "latest", ["hosts"] = new JsonArray("alpha"),
                    ["retention"] = new JsonObject { ["keep_last"] = 3 },
                }),
        });

        var first = Cli.Run("replicate", "--policy", policy, "--json").ShouldSucceed().ShouldNotShowStackTrace();
        var second = Cli.Run("replicate", "--policy", policy, "--json").ShouldSucceed();

        var targets = first.JsonObjects.Where(o => (string?)o["message_type"] == "target").ToDictionary(o => (string)o["name"]!);
        Assert.Equal(("done", 2), ((string)targets["usb"]["status"]!, (int)targets["usb"]["snapshots_copied"]!));
        Assert.Equal(("done", 1), ((string)targets["cloud"]["status"]!, (int)targets["cloud"]["snapshots_copied"]!));
        foreach (var again in second.JsonObjects.Where(o => (string?)o["message_type"] == "target"))
        {
            Assert.Equal(0, (int)again["snapshots_copied"]!);
            Assert.Equal(0, (long)again["bytes_added"]!);
        }
        var cloud = Cli.WithRepository(bucket).WithPassword("cloud password");
        var restored = _ws.PathOf("out");
        cloud.Run("restore", "latest", "--target", restored).ShouldSucceed();
        TreeComparison.AssertSame(_tree.Root, CliWorkspace.Restored(restored, _tree.Root));
        Assert.Equal("alpha", (string)Assert.Single(cloud.Run("snapshots", "--json").ShouldSucceed().Json.AsArray())!["hostname"]!);
    }

    [Fact]
    public void A_target_outside_its_window_waits_and_a_failing_target_sets_the_exit_code_but_not_the_others()
    {
        Cli.Run("init").ShouldSucceed();
        Cli.Run("backup", _tree.Root).ShouldSucceed();
        Cli.WithRepository(_ws.PathOf("later")).Run("init").ShouldSucceed();
        Cli.WithRepository(_ws.PathOf("ok")).Run("init").ShouldSucceed();
        var policy = WritePolicy(new JsonObject
        {
            ["targets"] = new JsonArray(
                new JsonObject { ["name"] = "later", ["repository"] = _ws.PathOf("later"), ["windows"] = Closed() },
                new JsonObject { ["name"] = "gone", ["repository"] = $"s3:http://127.0.0.1:{_server.Port}/{_server.NewBucketName()}" },
                new JsonObject { ["name"] = "ok", ["repository"] = _ws.PathOf("ok") }),
        });

        var run = Cli.Run("replicate", "--policy", policy).ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains(run.StdOutLines, l => l.StartsWith("target later: outside its time windows", StringComparison.Ordinal));
        Assert.Contains(run.StdErrLines, l => l.StartsWith("error: target gone:", StringComparison.Ordinal) && l.Contains("no repository"));
        Assert.Contains(run.StdOutLines, l => l.StartsWith("target ok: 1 snapshot(s) copied", StringComparison.Ordinal));
        Assert.Empty(Cli.WithRepository(_ws.PathOf("later")).Run("snapshots", "--json").ShouldSucceed().Json.AsArray());
        var forced = Cli.Run("replicate", "--policy", policy, "--ignore-windows", "--json").ShouldExitWith(1);
        Assert.Contains(forced.JsonObjects, o => (string?)o["name"] == "later" && (int)o["snapshots_copied"]! == 1);
    }

    [Theory]
    [InlineData("{\"targets\": []}", "no targets")]
    [InlineData("{\"targets\": [{\"repository\": \"/x\", \"windows\": [{\"start\": \"9am\", \"end\": \"10:00\"}]}]}", "9am")]
    public void A_bad_policy_is_one_clear_line(string json, string expected)
    {
        Cli.Run("init").ShouldSucceed();
        var path = _ws.PathOf("bad.json");
        File.WriteAllText(path, json);

        var run = Cli.Run("replicate", "--policy", path).ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains(expected, run.StdErr);
        Assert.Contains("bad.json", run.StdErr);
        Cli.Run("replicate", "--policy", _ws.PathOf("missing.json")).ShouldExitWith(1).ShouldNotShowStackTrace();
    }
}
