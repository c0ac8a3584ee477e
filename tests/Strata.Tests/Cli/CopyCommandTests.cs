using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary><c>strata copy</c> from a local repository to one in a real S3 server (and between local ones).</summary>
[Collection("S3")]
public sealed class CopyCommandTests : IDisposable
{
    private const string TargetPassword = "the target's own password";
    private readonly S3Server _server;
    private readonly CliWorkspace _ws = new("copycli");
    private readonly TreeBuilder _tree;
    private readonly string _target;

    public CopyCommandTests(S3Server server)
    {
        _server = server;
        _target = server.NewLocation();
        _tree = _ws.Tree("src");
        _tree.RandomFile("big.bin", 4_000_000, seed: 1).TextFile("notes.txt", 500_000, seed: 2);
        for (int i = 0; i < 20; i++) _tree.RandomFile($"d{i % 4}/f{i}.bin", 2000 + 100 * i, seed: 20 + i);
    }

    public void Dispose() => _ws.Dispose();

    private CliRunner Source => S3Server.WithCredentials(_ws.Cli).WithEnvironment("STRATA_CACHE_DIR", _ws.PathOf("cache"));
    private CliRunner Target => Source.WithRepository(_target).WithPassword(TargetPassword);

    /// <summary>The copy command with each side's own password from its own variable.</summary>
    private CliRunner Copier => Source.WithPassword(null)
        .WithEnvironment("STRATA_FROM_PASSWORD", CliRunner.DefaultPassword)
        .WithEnvironment("STRATA_TO_PASSWORD", TargetPassword);

    private string[] CopyArgs(params string[] more) => ["copy", "--from-repo", _ws.RepositoryPath, "--to-repo", _target, .. more];

    [Fact]
    public void Snapshots_copied_to_s3_restore_exactly_and_a_second_copy_sends_nothing()
    {
        Source.Run("init").ShouldSucceed();
        Source.Run("backup", "--tag", "daily", _tree.Root).ShouldSucceed();
        _tree.File("d1/added.txt", "added later");
        Source.Run("backup", _tree.Root).ShouldSucceed();
        Target.Run("init").ShouldSucceed();

        var first = Copier.Run(CopyArgs("--json")).ShouldSucceed().ShouldNotShowStackTrace().Summary;
        var second = Copier.Run(CopyArgs("--json")).ShouldSucceed().Summary;

        Assert.Equal(2, (int)first["snapshots_copied"]!);
        Assert.True((bool)first["rechunked"]!);
        Assert.Equal(0, (int)second["snapshots_copied"]!);
        Assert.Equal(2, (int)second["snapshots_already_present"]!);
        Assert.Equal(0, (long)second["bytes_added"]!);
        var target = _ws.PathOf("out");
        Target.Run("restore", "latest", "--target", target).ShouldSucceed();
        TreeComparison.AssertSame(_tree.Root, CliWorkspace.Restored(target, _tree.Root));
        Target.Run("check", "--read-data").ShouldSucceed();
        var tagged = Target.Run("snapshots", "--json", "--tag", "daily").ShouldSucceed().Json.AsArray();
        Assert.Single(tagged);
    }

    [Fact]
    public void Disk_images_copied_to_s3_keep_their_change_chain_and_the_disk_s_bitmap_works_with_the_copy()
    {
        const long MiB = 1 << 20;
        Source.Run("init").ShouldSucceed();
        var disk = _ws.PathOf("vm.qcow2");
        Images.Qemu.CreateQcow2(disk, 64 * MiB);
        Images.Qemu.AddBitmap(disk, "b");
        var points = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var chunk = _ws.PathOf($"chunk{i}");
            File.WriteAllBytes(chunk, TestData.RandomBytes(2 << 20, seed: 40 + i));
            Images.Qemu.Run("qemu-io", "-f", "qcow2", "-c", $"write -q -s {chunk} {(8 + 16 * i) * MiB} {2 * MiB}", disk);
            Source.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b").ShouldSucceed();
            points.Add(_ws.PathOf($"p{i}.raw"));
            Images.Qemu.ConvertToRaw(disk, points[i]);
        }
        Target.Run("init").ShouldSucceed();

        Assert.Equal(3, (int)Copier.Run(CopyArgs("--json")).ShouldSucceed().ShouldNotShowStackTrace().Summary["snapshots_copied"]!);
        Assert.Equal(0, (int)Copier.Run(CopyArgs("--json")).ShouldSucceed().Summary["snapshots_copied"]!);
        Target.Run("check", "--read-data").ShouldSucceed();
        var copies = Target.Run("image", "ls", "--json").ShouldSucceed().Json.AsArray().Select(n => (string)n!["id"]!).ToList();
        Assert.Equal(3, copies.Count);
        for (int i = 0; i < 3; i++)
        {
            var full = _ws.PathOf($"full{i}.raw");
            Target.Run("image", "restore", copies[i], "--target", full).ShouldSucceed();
            Assert.Equal(File.ReadAllBytes(points[i]), File.ReadAllBytes(full));
        }

        // The disk's bitmap counts from the source's latest snapshot: its copy stands in for it, and
        // the copied change lists take the restore along the chain, moving only the changed blocks.
        var back = Target.Run("image", "restore", copies[0], "--target", disk, "--incremental", "--cbt", "qemu-bitmap:b", "--json").ShouldSucceed().Summary;
        Assert.Equal("incremental-cbt", (string)back["mode"]!);
        Assert.Equal(0, (long)back["target_bytes_read"]!);
        Assert.True(Images.Qemu.Identical(disk, "qcow2", points[0], "raw"));
        Target.Run("image", "restore", copies[2], "--target", disk, "--incremental", "--cbt", "qemu-bitmap:b").ShouldSucceed();
        Assert.True(Images.Qemu.Identical(disk, "qcow2", points[2], "raw"));

        // Backing up into the copy (after a failover) keeps using the bitmap.
        var next = Target.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b", "--json").ShouldSucceed().Summary;
        Assert.True((bool)next["cbt_used"]!, "the backup into the copy read the whole disk");
    }

    [Fact]
    public void Only_the_chosen_snapshots_are_copied_and_both_passwords_fall_back_to_strata_password()
    {
        Source.Run("init").ShouldSucceed();
        Source.Run("backup", "--host", "alpha", _tree.Root).ShouldSucceed();
        Source.Run("backup", "--host", "beta", "--tag", "keep", _tree.Root).ShouldSucceed();
        Source.WithRepository(_target).Run("init", "--copy-chunker-params", "--from-repo", _ws.RepositoryPath).ShouldSucceed();

        var result = Source.Run(CopyArgs("--json", "--host", "beta")).ShouldSucceed().Summary;

        Assert.Equal(1, (int)result["snapshots_copied"]!);
        Assert.False((bool)result["rechunked"]!);
        var copied = Source.WithRepository(_target).Run("snapshots", "--json").ShouldSucceed().Json.AsArray();
        Assert.Equal("beta", (string)Assert.Single(copied)!["hostname"]!);
    }

    [Fact]
    public void Passwords_can_come_from_files()
    {
        Source.Run("init").ShouldSucceed();
        Source.Run("backup", _tree.Root).ShouldSucceed();
        Target.Run("init").ShouldSucceed();
        File.WriteAllText(_ws.PathOf("from.txt"), CliRunner.DefaultPassword + "\n");
        File.WriteAllText(_ws.PathOf("to.txt"), TargetPassword + "\n");

        Source.WithPassword("wrong for both").Run(CopyArgs("--from-password-file", _ws.PathOf("from.txt"), "--to-password-file", _ws.PathOf("to.txt"))).ShouldSucceed();

        Assert.Single(Target.Run("snapshots", "--json").ShouldSucceed().Json.AsArray());
    }

    [Fact]
    public void Bad_input_gets_one_clear_line_and_its_exit_code()
    {
        Source.Run("init").ShouldSucceed();

        var noSource = Copier.Run("copy", "--to-repo", _target).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("--from-repo", noSource.StdErr);
        var noTarget = Copier.Run(CopyArgs()).ShouldExitWith(10).ShouldNotShowStackTrace();
        Assert.Contains("no repository", noTarget.StdErr);
        Target.Run("init").ShouldSucceed();
        var wrong = Copier.WithEnvironment("STRATA_TO_PASSWORD", "not it").Run(CopyArgs()).ShouldExitWith(12).ShouldNotShowStackTrace();
        Assert.Contains("wrong password", wrong.StdErr);
        var unknown = Copier.Run(CopyArgs("deadbeef")).ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("deadbeef", unknown.StdErr);
        Copier.Run(CopyArgs("--limit-upload", "-5")).ShouldExitWith(1).ShouldNotShowStackTrace();
    }

    [Fact]
    public async Task A_copy_killed_midway_resumes_without_sending_anything_twice()
    {
        _tree.RandomFile("more.bin", 30_000_000, seed: 9);
        Source.Run("init").ShouldSucceed();
        Source.Run("backup", _tree.Root).ShouldSucceed();
        Target.Run("init", "--pack-size", "1").ShouldSucceed();
        using var proxy = new FaultInjectingProxy(_server.Endpoint);
        long uploaded = 0;
        proxy.Choose = (method, target) =>
        {
            if (method == "PUT" && target.Contains("/data/", StringComparison.Ordinal)) Interlocked.Increment(ref uploaded);
            return Fault.None;
        };
        var throughProxy = _target.Replace(_server.Endpoint, proxy.Endpoint);

        using (var copy = Copier.Start(["copy", "--from-repo", _ws.RepositoryPath, "--to-repo", throughProxy]))
        {
            while (Interlocked.Read(ref uploaded) < 8 && !copy.HasExited) await Task.Delay(20);
            copy.Kill();
            await copy.WaitAsync(TimeSpan.FromMinutes(1));
        }
        long beforeResume = Interlocked.Read(ref uploaded);
        Assert.True(beforeResume >= 8, $"only {beforeResume} packs were sent before the kill");
        Assert.Empty(Target.Run("snapshots", "--json").ShouldSucceed().Json.AsArray());
        Target.Run("check").ShouldSucceed();

        var resumed = Copier.Run(["copy", "--json", "--from-repo", _ws.RepositoryPath, "--to-repo", throughProxy]).ShouldSucceed().Summary;

        long total = Interlocked.Read(ref uploaded);
        var fresh = _server.NewLocation();
        Source.WithRepository(fresh).WithPassword(TargetPassword).Run("init", "--pack-size", "1").ShouldSucceed();
        Copier.Run(["copy", "--from-repo", _ws.RepositoryPath, "--to-repo", fresh.Replace(_server.Endpoint, proxy.Endpoint)]).ShouldSucceed();
        long inOneGo = Interlocked.Read(ref uploaded) - total;
        // Packs in flight at the kill (a handful) may go twice; everything stored before it is not sent again.
        Assert.True(total <= inOneGo + 6, $"{total} packs sent in all, a copy in one go sends {inOneGo}");
        Assert.Equal(1, (int)resumed["snapshots_copied"]!);
        Target.Run("check", "--read-data").ShouldSucceed();
        var target = _ws.PathOf("out");
        Target.Run("restore", "latest", "--target", target).ShouldSucceed();
        TreeComparison.AssertSame(_tree.Root, CliWorkspace.Restored(target, _tree.Root));
    }

    [Fact]
    public void A_copy_through_a_faulty_store_succeeds_and_the_copy_checks_out()
    {
        Source.Run("init").ShouldSucceed();
        Source.Run("backup", _tree.Root).ShouldSucceed();
        Target.Run("init", "--pack-size", "1").ShouldSucceed();
        using var proxy = new FaultInjectingProxy(_server.Endpoint, faultRate: 0.2, seed: 3);

        Copier.Run(["copy", "--from-repo", _ws.RepositoryPath, "--to-repo", _target.Replace(_server.Endpoint, proxy.Endpoint)]).ShouldSucceed().ShouldNotShowStackTrace();

        Assert.True(proxy.TotalInjected > 3, $"only {proxy.TotalInjected} faults were injected");
        Target.Run("check", "--read-data", "--no-cache").ShouldSucceed();
        var target = _ws.PathOf("out");
        Target.Run("restore", "latest", "--target", target).ShouldSucceed();
        TreeComparison.AssertSame(_tree.Root, CliWorkspace.Restored(target, _tree.Root));
    }

    [Fact]
    public void Limit_upload_slows_a_backup_to_the_given_rate()
    {
        Source.Run("init").ShouldSucceed();
        var tree = _ws.Tree("limited").RandomFile("r.bin", 1_500_000, seed: 4);

        var limited = Source.Run("backup", "--limit-upload", "500", tree.Root).ShouldSucceed();

        // 1.5 MB at 500 KiB/s: about three seconds (less the first burst).
        Assert.True(limited.Duration > TimeSpan.FromSeconds(2.2), $"the backup took only {limited.Duration.TotalSeconds:0.0} s");
    }
}
