using Strata.Errors;
using Strata.Repository;

namespace Strata.Images.Qmp;

/// <summary>
/// One backup of a running VM's disk through its QMP monitor: connect and tidy up what a killed run
/// left, check the CBT bitmap, then in one transaction fix the point in time (fleecing) and rotate
/// the bitmap, export the frozen view over NBD, and afterwards commit or undo the rotation. Holds the
/// QMP connection for the whole backup.
/// </summary>
public sealed class QmpBackupSession : IAsyncDisposable
{
    /// <summary>Connections Strata opens to QEMU's NBD export: reads on separate connections overlap.</summary>
    private const int Connections = 4;

    private readonly QmpClient _qmp;
    private readonly QmpSource _source;
    private readonly QmpBlockNode _node;
    private readonly QmpBitmapRotation? _rotation;

    private QmpBackupSession(QmpClient qmp, QmpSource source, QmpBlockNode node, QmpBitmapRotation? rotation, CbtBitmapState? state)
    {
        _qmp = qmp;
        _source = source;
        _node = node;
        _rotation = rotation;
        BitmapState = state;
    }

    /// <summary>Null without --cbt.</summary>
    public CbtBitmapState? BitmapState { get; }

    public static async Task<QmpBackupSession> OpenAsync(QmpSource source, string? bitmap, CancellationToken ct)
    {
        var qmp = await QmpClient.ConnectAsync(source.SocketPath, ct).ConfigureAwait(false);
        try
        {
            await QmpFleece.RemoveLeftoversAsync(qmp, ct).ConfigureAwait(false);
            var node = await QmpBlockNode.FindAsync(qmp, source.Node, ct).ConfigureAwait(false);
            QmpBitmapRotation? rotation = null;
            CbtBitmapState? state = null;
            if (bitmap is not null)
            {
                rotation = new QmpBitmapRotation(qmp, node.NodeName, bitmap);
                state = await rotation.PrepareAsync(node, ct).ConfigureAwait(false);
            }
            return new QmpBackupSession(qmp, source, node, rotation, state);
        }
        catch
        {
            await qmp.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Fixes the point in time and exports it; the device's dispose removes the export and the
    /// overlay again. Reads see the disk as it was at this call, whatever the guest writes meanwhile.
    /// </summary>
    public async Task<NbdBlockDevice> ExportAsync(CancellationToken ct)
    {
        var fleece = await QmpFleece.CreateAsync(_qmp, _node, _source.ScratchDirectory, ct).ConfigureAwait(false);
        try
        {
            if (_rotation is not null) await _rotation.BeforeStartAsync(ct).ConfigureAwait(false);
            await QmpActions.RunAsync(_qmp, [.. _rotation?.StartActions() ?? [], fleece.StartAction], ct).ConfigureAwait(false);
            _rotation?.Started();
            var bitmaps = _rotation?.ExportedBitmaps ?? [];
            var address = await fleece.ExportAsync(bitmaps, ct).ConfigureAwait(false);
            return await NbdBlockDevice.ConnectAsync(address, bitmaps, ct, fleece, _source.Text, Connections).ConfigureAwait(false);
        }
        catch
        {
            await fleece.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// After the snapshot is saved. A failure here is not the backup's failure: the bitmap is left
    /// frozen beside the next one, and the next run folds them together (it reads more); returns why.
    /// </summary>
    public async Task<string?> CommitAsync(BlobId snapshot, CancellationToken ct)
    {
        if (_rotation is null) return null;
        try
        {
            await _rotation.CommitAsync(snapshot, ct).ConfigureAwait(false);
            return null;
        }
        catch (StrataException e)
        {
            return $"the snapshot is saved, but the dirty bitmap was not rotated ({e.Message}); the next backup reads more than needed";
        }
    }

    /// <summary>
    /// After a failed backup (the export already torn down): undo the rotation. Returns the error to
    /// report instead of <paramref name="cause"/> when QEMU went away, which explains a failed read better.
    /// </summary>
    public async Task<Exception?> AbandonAsync(Exception cause)
    {
        try
        {
            if (_rotation is not null) await _rotation.AbandonAsync().ConfigureAwait(false);
        }
        catch (StrataException) { } // the next run's PrepareAsync folds the bitmaps together instead
        if (!_qmp.IsBroken || cause is OperationCanceledException) return null;
        return new StrataException($"QEMU at {_qmp.SocketPath} went away during the backup ({cause.Message}); no snapshot was saved. " +
            "Its dirty bitmaps keep every write (or, after a crash, are not trusted and the next backup reads the whole disk)", ExitCodes.Fatal, cause);
    }

    public ValueTask DisposeAsync() => _qmp.DisposeAsync();
}
