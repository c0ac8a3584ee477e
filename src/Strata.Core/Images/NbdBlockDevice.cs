using Strata.Nbd;

namespace Strata.Images;

/// <summary>
/// An NBD export as a disk: allocation from <c>base:allocation</c>, changed blocks from a
/// <c>qemu:dirty-bitmap:NAME</c> context. Owns the qemu-nbd Strata started for it, if any, and stops it on dispose.
/// </summary>
public sealed class NbdBlockDevice : IBlockDevice
{
    private readonly NbdClient _client;
    private readonly QemuNbdServer? _server;

    private NbdBlockDevice(NbdClient client, QemuNbdServer? server, string description)
    {
        _client = client;
        _server = server;
        Description = description;
    }

    public string Description { get; }
    public long Size => _client.Size;
    public NbdClient Client => _client;

    /// <summary>Connects to an export, asking for base:allocation and, when named, the dirty bitmap.</summary>
    public static async Task<NbdBlockDevice> ConnectAsync(NbdAddress address, IReadOnlyList<string> dirtyBitmaps, CancellationToken ct, QemuNbdServer? server = null, string? description = null)
    {
        var contexts = new List<string> { NbdMetaContexts.BaseAllocation };
        foreach (var bitmap in dirtyBitmaps) contexts.Add(NbdMetaContexts.QemuDirtyBitmapPrefix + bitmap);
        var client = await NbdClient.ConnectAsync(address, contexts, ct).ConfigureAwait(false);
        return new NbdBlockDevice(client, server, description ?? address.ToString());
    }

    /// <summary>Serves <paramref name="imagePath"/> with a private qemu-nbd and connects to it.</summary>
    public static async Task<NbdBlockDevice> OpenWithQemuNbdAsync(string imagePath, string format, bool writable, IReadOnlyList<string> dirtyBitmaps, CancellationToken ct)
    {
        var server = await QemuNbdServer.StartAsync(imagePath, format, writable, dirtyBitmaps, ct).ConfigureAwait(false);
        try
        {
            return await ConnectAsync(server.Address, dirtyBitmaps, ct, server, imagePath).ConfigureAwait(false);
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

    public Task ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct) => _client.ReadAsync(offset, buffer, ct);
    public Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct) => _client.WriteAsync(offset, data, ct);
    public Task ZeroAsync(long offset, long length, CancellationToken ct) => _client.WriteZeroesAsync(offset, length, punchHole: true, ct);
    public Task FlushAsync(CancellationToken ct) => _client.FlushAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync().ConfigureAwait(false);
        if (_server is not null) await _server.DisposeAsync().ConfigureAwait(false);
    }

    private static void Append(List<ImageExtent> extents, long offset, long length)
    {
        if (extents.Count > 0 && extents[^1].End == offset)
            extents[^1] = new ImageExtent(extents[^1].Offset, extents[^1].Length + length);
        else
            extents.Add(new ImageExtent(offset, length));
    }
}
