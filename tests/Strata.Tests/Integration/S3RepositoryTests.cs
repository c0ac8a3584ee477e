using System.Text;
using Strata.Tests.Cli;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Integration;

/// <summary>
/// The real <c>strata</c> command with its repository in a real S3 server, directly and through
/// the fault-injecting proxy: backups, restores and checks succeed despite faults or fail cleanly,
/// and the store only ever holds ciphertext.
/// </summary>
[Collection("S3")]
public sealed class S3RepositoryTests : IDisposable
{
    private readonly S3Server _server;
    private readonly FaultInjectingProxy _proxy;
    private readonly CliWorkspace _ws = new("s3cli");
    private readonly string _bucket;

    public S3RepositoryTests(S3Server server)
    {
        _server = server;
        _proxy = new FaultInjectingProxy(server.Endpoint, seed: 7);
        _bucket = server.NewBucketName();
    }

    public void Dispose()
    {
        _proxy.Dispose();
        _ws.Dispose();
    }

    private string Location(string endpoint) => $"s3:{endpoint}/{_bucket}/repo";

    /// <summary>The CLI on the repository straight at the server (no faults).</summary>
    private CliRunner Direct => S3Server.WithCredentials(_ws.Cli.WithRepository(Location(_server.Endpoint)))
        .WithEnvironment("STRATA_CACHE_DIR", _ws.PathOf("cache"));

    /// <summary>The CLI on the same repository through the proxy.</summary>
    private CliRunner Proxied => Direct.WithRepository(Location(_proxy.Endpoint));

    private TreeBuilder SampleTree()
    {
        var tree = _ws.Tree("src");
        tree.RandomFile("big/random.bin", 6_000_000, seed: 1);
        tree.TextFile("text/log.txt", 3_000_000, seed: 2);
        for (int i = 0; i < 60; i++) tree.RandomFile($"small/{i / 10}/f{i:00}.bin", 500 + 211 * i, seed: 10 + i);
        tree.Symlink("small/link", "f00.bin");
        return tree;
    }

    [Fact]
    public void Backup_restore_and_check_succeed_through_a_store_that_fails_a_fifth_of_all_requests()
    {
        var tree = SampleTree();
        Direct.Run("init", "--pack-size", "1").ShouldSucceed();
        _proxy.FaultRate = 0.2;

        Proxied.Run("backup", "--json", tree.Root).ShouldSucceed().ShouldNotShowStackTrace();
        tree.Overwrite("big/random.bin", 1_000_000, TestData.RandomBytes(300_000, seed: 99));
        Proxied.Run("backup", "--json", tree.Root).ShouldSucceed();
        var target = _ws.PathOf("out");
        Proxied.Run("restore", "latest", "--target", target).ShouldSucceed().ShouldNotShowStackTrace();

        TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(target, tree.Root));
        Proxied.Run("check", "--read-data").ShouldSucceed();
        _proxy.FaultRate = 0;
        Direct.Run("check", "--read-data", "--no-cache").ShouldSucceed();
        Assert.True(_proxy.TotalInjected >= 10, $"only {_proxy.TotalInjected} faults were injected");
        foreach (var fault in new[] { Fault.DropConnection, Fault.InternalError, Fault.SlowDown, Fault.CutResponseBody, Fault.LoseAnswer, Fault.Delay })
            Assert.True(_proxy.Injected(fault) > 0, $"no {fault} was injected");
    }

    [Fact]
    public void A_disk_image_backs_up_with_cbt_and_restores_fully_and_incrementally_through_a_store_that_fails_a_fifth_of_all_requests()
    {
        const long MiB = 1 << 20;
        Direct.Run("init", "--pack-size", "1").ShouldSucceed();
        _proxy.FaultRate = 0.2;
        var disk = _ws.PathOf("vm.qcow2");
        Images.Qemu.CreateQcow2(disk, 64 * MiB);
        Images.Qemu.AddBitmap(disk, "b");
        WriteRandom(disk, 0, 6 * MiB, seed: 1);
        Proxied.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b").ShouldSucceed().ShouldNotShowStackTrace();
        var first = _ws.PathOf("first.raw");
        Images.Qemu.ConvertToRaw(disk, first);
        WriteRandom(disk, 40 * MiB, 3 * MiB, seed: 2);
        var second = Proxied.Run("image", "backup", disk, "--cbt", "qemu-bitmap:b", "--json").ShouldSucceed().Summary;
        Assert.Equal(3 * MiB, (long)second["bytes_read"]!);

        var full = _ws.PathOf("full.raw");
        Proxied.Run("image", "restore", "latest", "--target", full).ShouldSucceed().ShouldNotShowStackTrace();
        Assert.True(Images.Qemu.Identical(full, "raw", disk, "qcow2"));
        var oldest = (string)Direct.Run("image", "ls", "--json").ShouldSucceed().Json.AsArray()[0]!["id"]!;
        var back = Proxied.Run("image", "restore", oldest, "--target", disk, "--incremental", "--cbt", "qemu-bitmap:b", "--json").ShouldSucceed().Summary;
        Assert.Equal("incremental-cbt", (string)back["mode"]!);
        Assert.True(Images.Qemu.Identical(disk, "qcow2", first, "raw"));
        Proxied.Run("check", "--read-data").ShouldSucceed();
        Assert.True(_proxy.TotalInjected >= 5, $"only {_proxy.TotalInjected} faults were injected");
    }

    private void WriteRandom(string qcow2, long offset, long length, int seed)
    {
        var chunk = _ws.PathOf($"chunk-{seed}");
        File.WriteAllBytes(chunk, TestData.RandomBytes((int)length, seed));
        Images.Qemu.Run("qemu-io", "-f", "qcow2", "-c", $"write -q -s {chunk} {offset} {length}", qcow2);
    }

    [Fact]
    public void A_store_that_stays_down_fails_the_backup_with_one_clear_line_and_the_next_backup_succeeds()
    {
        var tree = SampleTree();
        Direct.Run("init", "--pack-size", "1").ShouldSucceed();
        var first = Direct.Run("backup", "--json", tree.Root).ShouldSucceed().Summary;
        tree.RandomFile("big/new.bin", 3_000_000, seed: 5);
        int requests = 0;
        // The store answers the start-up reads, then throttles every request for good.
        _proxy.Choose = (_, _) => Interlocked.Increment(ref requests) > 12 ? Fault.SlowDown : Fault.None;

        var failed = Proxied.Run("backup", tree.Root);

        failed.ShouldExitWith(1).ShouldNotShowStackTrace();
        var error = Assert.Single(failed.StdErrLines, l => l.StartsWith("strata:", StringComparison.Ordinal));
        Assert.Contains("503", error);
        _proxy.Choose = null;
        Direct.Run("check", "--read-data", "--no-cache").ShouldSucceed();
        var snapshots = Direct.Run("snapshots", "--json").ShouldSucceed().Json.AsArray();
        Assert.Equal((string)first["snapshot_id"]!, (string)Assert.Single(snapshots)!["id"]!);
        Proxied.Run("backup", tree.Root).ShouldSucceed();
        var target = _ws.PathOf("out");
        Direct.Run("restore", "latest", "--target", target).ShouldSucceed();
        TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(target, tree.Root));
    }

    [Fact]
    public async Task A_backup_killed_while_uploading_leaves_a_sound_repository_and_the_next_backup_succeeds()
    {
        var tree = SampleTree();
        tree.RandomFile("big/more.bin", 20_000_000, seed: 8);
        Direct.Run("init", "--pack-size", "1").ShouldSucceed();
        long packsUp = 0;
        _proxy.Choose = (method, target) =>
        {
            if (method == "PUT" && target.Contains("/repo/data/", StringComparison.Ordinal)) Interlocked.Increment(ref packsUp);
            return Fault.None;
        };

        using (var backup = Proxied.Start("backup", tree.Root))
        {
            while (Interlocked.Read(ref packsUp) < 5 && !backup.HasExited) await Task.Delay(10);
            backup.Kill();
            await backup.WaitAsync(TimeSpan.FromMinutes(1));
        }

        Assert.True(Interlocked.Read(ref packsUp) >= 5, "the backup finished before it could be killed");
        Assert.Empty(Direct.Run("snapshots", "--json").ShouldSucceed().Json.AsArray());
        Direct.Run("check", "--read-data").ShouldSucceed();
        Proxied.Run("backup", tree.Root).ShouldSucceed();
        Direct.Run("check", "--read-data").ShouldSucceed();
        var target = _ws.PathOf("out");
        Direct.Run("restore", "latest", "--target", target).ShouldSucceed();
        TreeComparison.AssertSame(tree.Root, CliWorkspace.Restored(target, tree.Root));
    }

    [Fact]
    public void The_store_holds_only_ciphertext()
    {
        const string marker = "PLAINTEXT-MARKER-7f3a";
        var tree = _ws.Tree("src");
        var content = new StringBuilder();
        for (int i = 0; i < 20_000; i++) content.Append(marker).Append(" line ").Append(i).Append('\n');
        tree.File($"docs/{marker}-name.txt", content.ToString());
        tree.File("docs/small.txt", marker);
        tree.Directory($"{marker}-folder");
        tree.Symlink($"{marker}-folder/link", $"/target/{marker}");
        tree.RandomFile("docs/random.bin", 2_000_000, seed: 3);
        // No compression: only the encryption stands between the data and the store.
        Direct.Run("init", "--compression", "0").ShouldSucceed();
        Direct.Run("backup", "--host", $"{marker}-host", "--tag", $"{marker}-tag", tree.Root).ShouldSucceed();
        Direct.Run("check", "--read-data").ShouldSucceed();

        var needles = new[] { marker, "PLAINTEXT-MARKER", "line 1234\n", tree.Root, "random.bin", "small.txt" }.Select(Encoding.UTF8.GetBytes).ToList();
        var randomSample = File.ReadAllBytes(tree.PathOf("docs/random.bin")).AsSpan(1_000_000, 64).ToArray();
        needles.Add(randomSample);
        int scanned = 0;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_server.DataDirectory, _bucket), "*", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var needle in needles)
                Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"{file} holds the plaintext '{Encoding.UTF8.GetString(needle)}'");
            scanned++;
        }
        Assert.True(scanned >= 5, $"only {scanned} files in the store");
        Assert.True(new FileInfo(tree.PathOf($"docs/{marker}-name.txt")).Length > 500_000);
    }

    [Fact]
    public void A_second_command_reads_snapshots_and_index_from_the_verified_cache_and_no_cache_bypasses_it()
    {
        var tree = SampleTree();
        Direct.Run("init").ShouldSucceed();
        Direct.Run("backup", tree.Root).ShouldSucceed();
        Direct.Run("backup", "--tag", "second", tree.Root).ShouldSucceed();
        int metadataGets = 0;
        _proxy.Choose = (method, target) =>
        {
            if (method == "GET" && (target.Contains("/repo/snapshots/", StringComparison.Ordinal) || target.Contains("/repo/index/", StringComparison.Ordinal)))
                Interlocked.Increment(ref metadataGets);
            return Fault.None;
        };
        var cache = _ws.PathOf("cache");
        if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);

        var first = Proxied.Run("ls", "latest").ShouldSucceed().StdOut;
        int firstGets = metadataGets;
        metadataGets = 0;
        var second = Proxied.Run("ls", "latest").ShouldSucceed().StdOut;
        int secondGets = metadataGets;
        metadataGets = 0;
        Proxied.Run("ls", "latest", "--no-cache").ShouldSucceed();
        int uncachedGets = metadataGets;

        Assert.True(firstGets >= 3, $"the first run fetched only {firstGets} metadata objects");
        Assert.Equal(0, secondGets);
        Assert.Equal(firstGets, uncachedGets);
        Assert.Equal(first, second);

        // A damaged cache file is noticed, fetched again and replaced.
        var cachedSnapshot = Directory.EnumerateFiles(cache, "*", SearchOption.AllDirectories).First(f => f.Contains("/snapshots/", StringComparison.Ordinal));
        var bytes = File.ReadAllBytes(cachedSnapshot);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(cachedSnapshot, bytes);
        metadataGets = 0;
        Assert.Equal(first, Proxied.Run("ls", "latest").ShouldSucceed().StdOut);
        Assert.Equal(1, metadataGets);
        Assert.NotEqual(bytes, File.ReadAllBytes(cachedSnapshot));
    }
}
