using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using Strata.Images;
using Strata.Nbd;
using Strata.Tests.Images;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Nbd;

/// <summary>Strata's NBD server serving image snapshots, read by the real qemu tools and by Strata's own client.</summary>
public sealed class NbdServerTests : IAsyncLifetime
{
    private const long MiB = 1 << 20;
    private ImageWorkspace _ws = null!;
    private string _disk = null!;
    private Strata.Snapshots.Snapshot _snapshot = null!;

    public async Task InitializeAsync()
    {
        _ws = await ImageWorkspace.CreateAsync();
        // Data, a hole, a block of zeros written explicitly, and a short last block.
        _disk = _ws.RawDisk("disk.raw", 24 * MiB + 12288,
            (0, TestData.RandomBytes(3 * (int)MiB, seed: 1)),
            (10 * MiB + 100, TestData.RandomBytes(200_000, seed: 2)),
            (15 * MiB, new byte[1 << 20]),
            (24 * MiB, TestData.RandomBytes(12288, seed: 3)));
        await _ws.BackupAsync(_disk);
        _snapshot = (await ImageSnapshots.ListAsync(_ws.Repo, default)).Single();
    }

    public async Task DisposeAsync() => await _ws.DisposeAsync();

    private async Task<(NbdServer Server, SnapshotExport Export, string Url)> ServeAsync(bool writable = false)
    {
        var socket = _ws.PathOf($"nbd-{Guid.NewGuid():N}.sock");
        var export = await SnapshotExports.OpenAsync(_ws.Repo, _snapshot, writable ? _ws.PathOf($"overlay-{Guid.NewGuid():N}.raw") : null, keepOverlay: true, 8 * MiB, default);
        var server = NbdServer.Listen(export, new UnixDomainSocketEndPoint(socket));
        server.Start();
        return (server, export, $"nbd+unix:///?socket={socket}");
    }

    private string RepositoryFingerprint() =>
        string.Join('\n', Directory.EnumerateFiles(_ws.RepositoryPath, "*", SearchOption.AllDirectories).Order()
            .Select(f => f + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))));

    [Fact]
    public async Task Qemu_img_compare_finds_the_export_identical_to_the_backed_up_disk()
    {
        var (server, export, url) = await ServeAsync();
        await using (server)
        using (export)
        {
            Assert.True(Qemu.Identical(_disk, "raw", url, "raw"));
            var converted = _ws.PathOf("converted.raw");
            Qemu.Run("qemu-img", "convert", "-f", "raw", "-O", "raw", url, converted);
            Assert.Equal(File.ReadAllBytes(_disk), File.ReadAllBytes(converted));
        }
    }

    [Fact]
    public async Task Default_export_answers_to_the_empty_name_and_to_the_snapshot_id_and_refuses_others()
    {
        var (server, export, url) = await ServeAsync();
        await using (server)
        using (export)
        {
            var socket = url[(url.IndexOf('=') + 1)..];
            await using (var byName = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket, _snapshot.Id.ToShortString()), []))
                Assert.Equal(new FileInfo(_disk).Length, byName.Size);
            var refused = await Assert.ThrowsAsync<NbdException>(() => NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket, "other"), []));
            Assert.Contains("no export named 'other'", refused.Message);
            Assert.Contains(_snapshot.Id.ToShortString(), Qemu.Run("qemu-nbd", "--list", "-k", socket));
        }
    }

    [Fact]
    public async Task Block_status_reports_blocks_that_were_not_stored_as_zero_holes()
    {
        var (server, export, url) = await ServeAsync();
        await using (server)
        using (export)
        {
            var socket = url[(url.IndexOf('=') + 1)..];
            await using var client = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket), [NbdMetaContexts.BaseAllocation]);
            Assert.True(client.IsReadOnly);
            var extents = await client.BlockStatusAsync(NbdMetaContexts.BaseAllocation, 0, client.Size);
            const uint holeZero = NbdMetaContexts.StateHole | NbdMetaContexts.StateZero;
            Assert.Equal(new NbdExtent(0, 3 * MiB, 0), extents[0]);
            Assert.Equal(new NbdExtent(3 * MiB, 7 * MiB, holeZero), extents[1]);
            // 10 MiB + 100 .. + 200000 touches four 64 KiB blocks; the explicit zeros at 15 MiB were never stored.
            Assert.Equal(new NbdExtent(10 * MiB, 4 * 65536, 0), extents[2]);
            Assert.Equal(new NbdExtent(10 * MiB + 4 * 65536, 14 * MiB - 4 * 65536, holeZero), extents[3]);
            Assert.Equal(new NbdExtent(24 * MiB, 12288, 0), extents[4]);
            Assert.Equal(5, extents.Count);
        }
    }

    [Fact]
    public async Task Writes_land_in_the_overlay_read_back_through_the_export_and_leave_the_repository_untouched()
    {
        var before = RepositoryFingerprint();
        var (server, export, url) = await ServeAsync(writable: true);
        await using (server)
        using (export)
        {
            Qemu.Run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 1000 5000", "-c", $"write -P 0x6b {5 * MiB} 65536",
                "-c", $"write -z {MiB} 100", "-c", $"discard {20 * MiB} {MiB}", "-c", $"write -P 0x7c {24 * MiB + 12000} 288", url);
            // qemu-io read -P fails (exit code) on the first byte that differs from the pattern.
            Qemu.Run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0x5a 1000 5000", "-c", $"read -P 0x6b {5 * MiB} 65536",
                "-c", $"read -P 0 {MiB} 100", "-c", $"read -P 0x7c {24 * MiB + 12000} 288", url);

            var expected = File.ReadAllBytes(_disk);
            expected.AsSpan(1000, 5000).Fill(0x5a);
            expected.AsSpan((int)(5 * MiB), 65536).Fill(0x6b);
            expected.AsSpan((int)MiB, 100).Clear();
            expected.AsSpan((int)(24 * MiB + 12000), 288).Fill(0x7c);
            var served = _ws.PathOf("served.raw");
            Qemu.Run("qemu-img", "convert", "-f", "raw", "-O", "raw", url, served);
            Assert.Equal(expected, File.ReadAllBytes(served));

            // The overlay file holds the written blocks at their offsets (whole blocks: the rest of a block comes from the snapshot).
            var overlay = File.ReadAllBytes(export.Overlay!.Path);
            Assert.Equal(expected.AsSpan(0, 65536).ToArray(), overlay.AsSpan(0, 65536).ToArray());
            Assert.Equal(expected.AsSpan((int)(5 * MiB), 65536).ToArray(), overlay.AsSpan((int)(5 * MiB), 65536).ToArray());
            Assert.Equal(4 + 16, export.Overlay.ChangedBlocks); // blocks at 0, 1 MiB, 5 MiB, the last one, and 16 trimmed ones
        }
        Assert.Equal(before, RepositoryFingerprint());
        // A new server shows the recovery point as it was backed up.
        var (again, againExport, againUrl) = await ServeAsync();
        await using (again)
        using (againExport)
            Assert.True(Qemu.Identical(_disk, "raw", againUrl, "raw"));
    }

    [Fact]
    public async Task A_read_only_export_refuses_writes_with_EPERM()
    {
        var (server, export, url) = await ServeAsync();
        await using (server)
        using (export)
        {
            var socket = url[(url.IndexOf('=') + 1)..];
            await using var client = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket), []);
            var e = await Assert.ThrowsAsync<NbdException>(() => client.WriteAsync(0, new byte[512]));
            Assert.Contains("read-only", e.Message);
        }
    }

    [Fact]
    public async Task Two_clients_compare_at_once_and_concurrent_partial_writes_to_one_block_keep_both()
    {
        var (server, export, url) = await ServeAsync(writable: true);
        await using (server)
        using (export)
        {
            var compares = Enumerable.Range(0, 2).Select(_ => Task.Run(() => Qemu.Identical(_disk, "raw", url, "raw"))).ToArray();
            Assert.All(await Task.WhenAll(compares), Assert.True);
            Assert.Equal(2, server.Connections);

            var socket = url[(url.IndexOf('=') + 1)..];
            await using var a = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket), []);
            await using var b = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket), []);
            // Each block gets two halves from two connections at once: copy-on-write of one must not undo the other.
            var writes = new List<Task>();
            for (int block = 0; block < 32; block++)
            {
                long at = block * 65536L + 3 * MiB;
                writes.Add(a.WriteAsync(at, Filled(32768, (byte)(block + 1))));
                writes.Add(b.WriteAsync(at + 32768, Filled(32768, (byte)(block + 101))));
            }
            await Task.WhenAll(writes);
            var back = new byte[32 * 65536];
            await a.ReadAsync(3 * MiB, back);
            for (int block = 0; block < 32; block++)
            {
                Assert.All(back.AsSpan(block * 65536, 32768).ToArray(), x => Assert.Equal(block + 1, x));
                Assert.All(back.AsSpan(block * 65536 + 32768, 32768).ToArray(), x => Assert.Equal(block + 101, x));
            }
        }
    }

    private static byte[] Filled(int length, byte value)
    {
        var data = new byte[length];
        data.AsSpan().Fill(value);
        return data;
    }

    [Fact]
    public async Task Stopping_closes_connected_clients_and_removes_the_socket()
    {
        var (server, export, url) = await ServeAsync();
        var socket = url[(url.IndexOf('=') + 1)..];
        await using var client = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket), []);
        var clock = Stopwatch.StartNew();
        await server.DisposeAsync();
        export.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.False(File.Exists(socket));
        await Assert.ThrowsAsync<NbdException>(() => client.ReadAsync(0, new byte[512]));
    }

    [Fact]
    public async Task A_corrupt_pack_fails_the_reads_that_need_it_with_EIO_and_the_server_goes_on()
    {
        var (server, export, url) = await ServeAsync();
        await using (server)
        using (export)
        {
            // The packs are damaged while the server runs (its block map is already loaded).
            foreach (var pack in Directory.EnumerateFiles(Path.Combine(_ws.RepositoryPath, "data"), "*", SearchOption.AllDirectories))
            {
                File.SetAttributes(pack, FileAttributes.Normal);
                var bytes = File.ReadAllBytes(pack);
                for (int i = 64; i < bytes.Length - 64; i += 997) bytes[i] ^= 0x55;
                File.WriteAllBytes(pack, bytes);
            }
            var socket = url[(url.IndexOf('=') + 1)..];
            await using var client = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket), []);
            var failure = await Assert.ThrowsAsync<NbdException>(() => client.ReadAsync(0, new byte[4096]));
            Assert.Contains("EIO", failure.Message);
            // A block that was never stored needs no pack: another connection still reads it.
            await using var other = await NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(socket), []);
            var hole = new byte[4096];
            await other.ReadAsync(5 * MiB, hole);
            Assert.All(hole, b => Assert.Equal(0, b));
        }
    }
}
