using System.Net.Sockets;
using Strata.Images;
using Strata.Nbd;
using Strata.Tests.Images;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Nbd;

/// <summary>A restore target served over NBD while the background copy fills it.</summary>
public sealed class LiveRestoreExportTests : IAsyncLifetime
{
    private const long MiB = 1 << 20;
    private ImageWorkspace _ws = null!;
    private string _disk = null!;
    private Strata.Snapshots.Snapshot _snapshot = null!;

    public async Task InitializeAsync()
    {
        _ws = await ImageWorkspace.CreateAsync();
        _disk = _ws.RawDisk("disk.raw", 8 * MiB, (0, TestData.RandomBytes(6 * (int)MiB, seed: 11)));
        await _ws.BackupAsync(_disk);
        _snapshot = (await ImageSnapshots.ListAsync(_ws.Repo, default)).Single();
    }

    public async Task DisposeAsync() => await _ws.DisposeAsync();

    [Fact]
    public async Task Client_reads_come_first_and_client_writes_survive_the_background_copy()
    {
        var target = _ws.PathOf("target.raw");
        var socket = _ws.PathOf("live.sock");
        using var export = await SnapshotExports.OpenLiveRestoreAsync(_ws.Repo, _snapshot, target, 4 * MiB, default);
        await using var server = NbdServer.Listen(export, new UnixDomainSocketEndPoint(socket));
        server.Start();
        await using var client = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket), []);
        var original = File.ReadAllBytes(_disk);

        // Before any background copy: a read is fetched on demand and is right.
        var read = new byte[100_000];
        await client.ReadAsync(3 * MiB + 5, read);
        Assert.Equal(original.AsSpan((int)(3 * MiB + 5), read.Length).ToArray(), read);
        Assert.True(export.BytesDone < export.Size);

        // Writes on missing blocks: a partial one (merged with the restored block) and a whole one.
        var partial = Enumerable.Repeat((byte)0xab, 1000).ToArray();
        var whole = Enumerable.Repeat((byte)0xcd, 65536).ToArray();
        await client.WriteAsync(MiB + 300, partial);
        await client.WriteAsync(4 * MiB, whole);
        await client.WriteZeroesAsync(5 * MiB, 65536, punchHole: false);
        await client.FlushAsync();

        await export.CopyAsync(4, default);
        Assert.True(export.IsComplete);
        var expected = (byte[])original.Clone();
        partial.CopyTo(expected, (int)MiB + 300);
        whole.CopyTo(expected, (int)(4 * MiB));
        expected.AsSpan((int)(5 * MiB), 65536).Clear();
        Assert.Equal(expected, File.ReadAllBytes(target));
        Assert.Equal(3, export.WrittenBlocks);
    }

    [Fact]
    public async Task The_target_must_be_a_new_file()
    {
        var taken = _ws.PathOf("taken.raw");
        File.WriteAllText(taken, "keep me");
        var e = await Assert.ThrowsAsync<Strata.Errors.UsageException>(() => SnapshotExports.OpenLiveRestoreAsync(_ws.Repo, _snapshot, taken, MiB, default));
        Assert.Contains("already exists", e.Message);
        Assert.Equal("keep me", File.ReadAllText(taken));
    }
}
