using Strata.Nbd;

namespace Strata.Images;

/// <summary>
/// An NBD export as a disk: allocation from <c>base:allocation</c>, changed blocks from a
/// <c>qemu:dirty-bitmap:NAME</c> context. Owns the qemu-nbd (or QEMU export) Strata started for it, if any, and stops it on dispose.
/// </summary>
public sealed class NbdBlockDevice : IBlockDevice
{
    private readonly NbdClient _client;
    private readonly NbdClient[] _all;
    private readonly SemaphoreSlim _free;
    private readonly System.Collections.Concurrent.ConcurrentBag<NbdClient> _idle;
    private readonly IAsyncDisposable? _server;

    private NbdBlockDevice(NbdClient[] clients, IAsyncDisposable? server, string description)
    {
        _client = clients[0];
        _all = clients;
        _idle = new(clients);
        _free = new SemaphoreSlim(clients.Length);
        _server = server;
        Description = description;
    }

    public string Description { get; }
    public long Size => _client.Size;
    public int ReadConcurrency => _all.Length;

    /// <summary>
    /// Connects to an export, asking for base:allocation and, when named, the dirty bitmaps.
    /// <paramref name="connections"/> &gt; 1 only for servers known to accept that many clients
    /// (our own qemu-nbd, QEMU's export of a running VM): requests on separate connections overlap, one
    /// connection has one in flight. <paramref name="server"/>: what serves the export for Strata alone; disposed with the device.
    /// </summary>
    public static async Task<NbdBlockDevice> ConnectAsync(NbdAddress address, IReadOnlyList<string> dirtyBitmaps, CancellationToken ct,
        IAsyncDisposable? server = null, string? description = null, int connections = 1)
    {
        var contexts = new List<string> { NbdMetaContexts.BaseAllocation };
        foreach (var bitmap in dirtyBitmaps) contexts.Add(NbdMetaContexts.QemuDirtyBitmapPrefix + bitmap);
        var clients = new List<NbdClient>();
        try
        {
            clients.Add(server is null ? await NbdClient.ConnectAsync(address, contexts, ct).ConfigureAwait(false) : await ConnectToStartingServerAsync(address, contexts, ct).ConfigureAwait(false));
            for (int i = 1; i < connections; i++) clients.Add(await NbdClient.ConnectAsync(address, [], ct).ConfigureAwait(false));
        }
        catch
        {
            foreach (var c in clients) await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new NbdBlockDevice([.. clients], server, description ?? address.ToString());
    }

    /// <summary>A qemu-nbd that has just bound its socket may not listen yet: connection refused is retried for a while.</summary>
    private static async Task<NbdClient> ConnectToStartingServerAsync(NbdAddress address, IReadOnlyList<string> contexts, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try { return await NbdClient.ConnectAsync(address, contexts, ct).ConfigureAwait(false); }
            catch (NbdException e) when (e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Serves <paramref name="imagePath"/> with a private qemu-nbd and connects to it.</summary>
    public static async Task<NbdBlockDevice> OpenWithQemuNbdAsync(string imagePath, string format, bool writable, IReadOnlyList<string> dirtyBitmaps, CancellationToken ct)
    {
        var server = await QemuNbdServer.StartAsync(imagePath, format, writable, dirtyBitmaps, ct).ConfigureAwait(false);
        try
        {
            return await ConnectAsync(server.Address, dirtyBitmaps, ct, server, imagePath, QemuNbdServer.Connections).ConfigureAwait(false);
        }
        catch (NbdException e)
        {
            var explained = await server.ExplainAsync(imagePath, e).ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
            if (explained is not null) throw explained;
            throw;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public bool HasDirtyBitmap(string name) => _client.HasMetaContext(NbdMetaContexts.QemuDirtyBitmapPrefix + name);

    public async Task<List<ImageExtent>> DataExtentsAsync(CancellationToken ct)
    {
        if (!_client.HasMetaContext(NbdMetaContexts.BaseAllocation))
            return Size > 0 ? [new ImageExtent(0, Size)] : [];
        var extents = new List<ImageExtent>();
        foreach (var e in await _client.BlockStatusAsync(NbdMetaContexts.BaseAllocation, 0, Size, ct).ConfigureAwait(false))
        {
            if ((e.Flags & NbdMetaContexts.StateZero) != 0) continue;
            Append(extents, e.Offset, e.Length);
        }
        return extents;
    }

    /// <summary>The extents the named dirty bitmap marks as written since it was started or cleared.</summary>
    public async Task<List<ImageExtent>> DirtyExtentsAsync(string bitmap, CancellationToken ct)
    {
        var extents = new List<ImageExtent>();
        foreach (var e in await _client.BlockStatusAsync(NbdMetaContexts.QemuDirtyBitmapPrefix + bitmap, 0, Size, ct).ConfigureAwait(false))
            if ((e.Flags & NbdMetaContexts.StateDirty) != 0) Append(extents, e.Offset, e.Length);
        return extents;
    }

    public Task ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct) => WithClientAsync(c => c.ReadAsync(offset, buffer, ct), ct);
    public Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) => WithClientAsync(c => c.WriteAsync(offset, data, ct), ct);
    public Task ZeroAsync(long offset, long length, CancellationToken ct) => WithClientAsync(c => c.WriteZeroesAsync(offset, length, punchHole: true, ct), ct);

    /// <summary>Flushes every connection: without NBD_FLAG_CAN_MULTI_CONN a flush covers only its own connection's writes.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        foreach (var c in _all) await c.FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task WithClientAsync(Func<NbdClient, Task> operation, CancellationToken ct)
    {
        await _free.WaitAsync(ct).ConfigureAwait(false);
        _idle.TryTake(out var client);
        try { await operation(client!).ConfigureAwait(false); }
        finally
        {
            _idle.Add(client!);
            _free.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _all) await c.DisposeAsync().ConfigureAwait(false);
        if (_server is not null) await _server.DisposeAsync().ConfigureAwait(false);
        _free.Dispose();
    }

    private static void Append(List<ImageExtent> extents, long offset, long length)
    {
        if (extents.Count > 0 && extents[^1].End == offset)
            extents[^1] = new ImageExtent(extents[^1].Offset, extents[^1].Length + length);
        else
            extents.Add(new ImageExtent(offset, length));
    }
}
