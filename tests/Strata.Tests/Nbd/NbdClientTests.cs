using System.Net;
using System.Net.Sockets;
using Strata.Nbd;
using Strata.Tests.Images;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Nbd;

/// <summary>The C# NBD client against the real qemu-nbd.</summary>
public sealed class NbdClientTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly TempFolder _dir = new("nbd");

    public void Dispose() => _dir.Dispose();

    private string Disk(long size = 64 * MiB)
    {
        var path = _dir.Combine("disk.qcow2");
        Qemu.CreateQcow2(path, size);
        return path;
    }

    [Fact]
    public async Task Negotiation_reports_the_export_size_and_reads_return_what_qemu_io_wrote()
    {
        var disk = Disk();
        Qemu.Write(disk, "qcow2", (3 * MiB, 128 << 10, 0x5a), (40 * MiB + 512, 4096, 0x11));
        using var server = new QemuNbdProcess(disk, "qcow2");
        await using var client = await NbdClient.ConnectAsync(server.Address, []);
        Assert.Equal(64 * MiB, client.Size);
        Assert.True(client.IsReadOnly);

        var buffer = new byte[256 << 10];
        await client.ReadAsync(3 * MiB - (64 << 10), buffer);
        Assert.All(buffer.AsSpan(0, 64 << 10).ToArray(), b => Assert.Equal(0, b));
        Assert.All(buffer.AsSpan(64 << 10, 128 << 10).ToArray(), b => Assert.Equal(0x5a, b));
        Assert.All(buffer.AsSpan(192 << 10).ToArray(), b => Assert.Equal(0, b));

        var small = new byte[4096];
        await client.ReadAsync(40 * MiB + 512, small);
        Assert.All(small, b => Assert.Equal(0x11, b));
    }

    [Fact]
    public async Task Reads_larger_than_one_request_are_split_and_reassembled()
    {
        var disk = Disk(96 * MiB);
        Qemu.Write(disk, "qcow2", (0, 40 * MiB, 0x33), (90 * MiB, 6 * MiB, 0x44));
        using var server = new QemuNbdProcess(disk, "qcow2");
        await using var client = await NbdClient.ConnectAsync(server.Address, []);
        var all = new byte[96 * MiB];
        await client.ReadAsync(0, all);
        Assert.Equal(-1, all.AsSpan(0, (int)(40 * MiB)).IndexOfAnyExcept((byte)0x33));
        Assert.Equal(-1, all.AsSpan((int)(40 * MiB), (int)(50 * MiB)).IndexOfAnyExcept((byte)0));
        Assert.Equal(-1, all.AsSpan((int)(90 * MiB)).IndexOfAnyExcept((byte)0x44));
    }

    [Fact]
    public async Task Base_allocation_marks_unwritten_regions_as_zero_holes()
    {
        var disk = Disk();
        Qemu.Write(disk, "qcow2", (8 * MiB, 2 * MiB, 0x77));
        using var server = new QemuNbdProcess(disk, "qcow2");
        await using var client = await NbdClient.ConnectAsync(server.Address, [NbdMetaContexts.BaseAllocation]);
        Assert.True(client.HasMetaContext(NbdMetaContexts.BaseAllocation));
        var extents = await client.BlockStatusAsync(NbdMetaContexts.BaseAllocation, 0, client.Size);
        Assert.Equal(0, extents[0].Offset);
        Assert.Equal(client.Size, extents[^1].End);
        for (int i = 1; i < extents.Count; i++) Assert.Equal(extents[i - 1].End, extents[i].Offset);
        var data = extents.Where(e => (e.Flags & NbdMetaContexts.StateZero) == 0).ToList();
        Assert.Equal([new NbdExtent(8 * MiB, 2 * MiB, 0)], data);
    }

    [Fact]
    public async Task Dirty_bitmap_context_reports_exactly_the_clusters_written_since_the_bitmap_started()
    {
        var disk = Disk();
        Qemu.Write(disk, "qcow2", (0, 4 * MiB, 0xaa));
        Qemu.AddBitmap(disk, "b0");
        Qemu.Write(disk, "qcow2", (1 * MiB, 64 << 10, 0x11), (20 * MiB, 4096, 0x22), (33 * MiB, 1 * MiB, 0x33));
        using var server = new QemuNbdProcess(disk, "qcow2", readOnly: true, "b0");
        string context = NbdMetaContexts.QemuDirtyBitmapPrefix + "b0";
        await using var client = await NbdClient.ConnectAsync(server.Address, [NbdMetaContexts.BaseAllocation, context]);
        var dirty = (await client.BlockStatusAsync(context, 0, client.Size)).Where(e => (e.Flags & NbdMetaContexts.StateDirty) != 0).ToList();
        // qemu tracks 64 KiB clusters: the 4 KiB write marks one whole cluster.
        Assert.Equal([new NbdExtent(1 * MiB, 64 << 10, 1), new NbdExtent(20 * MiB, 64 << 10, 1), new NbdExtent(33 * MiB, 1 * MiB, 1)], dirty);
    }

    [Fact]
    public async Task A_bitmap_the_image_does_not_have_is_simply_not_granted()
    {
        var disk = Disk();
        using var server = new QemuNbdProcess(disk, "qcow2");
        await using var client = await NbdClient.ConnectAsync(server.Address, [NbdMetaContexts.QemuDirtyBitmapPrefix + "nope"]);
        Assert.False(client.HasMetaContext(NbdMetaContexts.QemuDirtyBitmapPrefix + "nope"));
        var e = await Assert.ThrowsAsync<NbdException>(() => client.BlockStatusAsync(NbdMetaContexts.QemuDirtyBitmapPrefix + "nope", 0, 4096));
        Assert.Contains("did not grant", e.Message);
    }

    [Fact]
    public async Task Writes_and_write_zeroes_land_in_the_image()
    {
        var disk = Disk();
        Qemu.Write(disk, "qcow2", (0, 2 * MiB, 0xee));
        using (var server = new QemuNbdProcess(disk, "qcow2", readOnly: false))
        {
            await using var client = await NbdClient.ConnectAsync(server.Address, []);
            Assert.False(client.IsReadOnly);
            await client.WriteAsync(10 * MiB, TestData.RandomBytes(100_000, seed: 5));
            await client.WriteZeroesAsync(0, 1 * MiB, punchHole: true);
            await client.FlushAsync();
            var back = new byte[100_000];
            await client.ReadAsync(10 * MiB, back);
            Assert.Equal(TestData.RandomBytes(100_000, seed: 5), back);
        }
        var raw = _dir.Combine("disk.raw");
        Qemu.ConvertToRaw(disk, raw);
        var bytes = File.ReadAllBytes(raw);
        Assert.Equal(-1, bytes.AsSpan(0, (int)MiB).IndexOfAnyExcept((byte)0));
        Assert.Equal(-1, bytes.AsSpan((int)MiB, (int)MiB).IndexOfAnyExcept((byte)0xee));
        Assert.Equal(TestData.RandomBytes(100_000, seed: 5), bytes.AsSpan((int)(10 * MiB), 100_000).ToArray());
    }

    [Fact]
    public async Task Writing_to_a_read_only_export_is_refused_before_anything_is_sent()
    {
        using var server = new QemuNbdProcess(Disk(), "qcow2");
        await using var client = await NbdClient.ConnectAsync(server.Address, []);
        var e = await Assert.ThrowsAsync<NbdException>(() => client.WriteAsync(0, new byte[512]));
        Assert.Contains("read-only", e.Message);
    }

    [Fact]
    public async Task An_unknown_export_name_is_named_in_the_error()
    {
        using var server = new QemuNbdProcess(Disk(), "qcow2");
        var e = await Assert.ThrowsAsync<NbdException>(() => NbdClient.ConnectAsync(NbdAddress.ForUnixSocket(server.Socket, "nosuch"), []));
        Assert.Contains("'nosuch'", e.Message);
        Assert.Contains("no such export", e.Message);
    }

    [Fact]
    public async Task A_server_that_vanishes_mid_session_gives_a_clear_error_and_a_broken_client()
    {
        var disk = Disk();
        var server = new QemuNbdProcess(disk, "qcow2");
        await using var client = await NbdClient.ConnectAsync(server.Address, []);
        await client.ReadAsync(0, new byte[4096]);
        server.Dispose();
        var e = await Assert.ThrowsAsync<NbdException>(() => client.ReadAsync(0, new byte[1 << 20]));
        Assert.Contains("NBD server", e.Message);
        var again = await Assert.ThrowsAsync<NbdException>(() => client.ReadAsync(0, new byte[4096]));
        Assert.Contains("no longer usable", again.Message);
    }

    [Fact]
    public async Task A_peer_that_is_not_an_NBD_server_is_recognised()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serve = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync();
            await peer.GetStream().WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
            await Task.Delay(200);
        });
        var e = await Assert.ThrowsAsync<NbdException>(() => NbdClient.ConnectAsync(NbdAddress.Parse($"nbd://127.0.0.1:{port}/x"), []));
        Assert.Contains("not an NBD server", e.Message);
        await serve;
    }

    [Fact]
    public async Task Nothing_listening_is_a_connection_error_naming_the_address()
    {
        var e = await Assert.ThrowsAsync<NbdException>(() => NbdClient.ConnectAsync(NbdAddress.Parse($"nbd+unix:///?socket={_dir.Combine("none.sock")}"), []));
        Assert.Contains("cannot connect", e.Message);
        Assert.Contains("none.sock", e.Message);
    }
}
