using System.Text.Json.Nodes;
using Strata.Repository;

namespace Strata.Images.Qmp;

/// <summary>
/// Keeps a running VM's user-named persistent dirty bitmap NAME in step with the backups, through
/// QMP (docs/ARCHITECTURE.md, "Changed-block tracking of a running VM"). In the transaction that
/// fixes the backup's point in time, NAME is frozen (disabled) and <c>NAME.strata-next</c> starts
/// recording; NAME is exported and read. After the snapshot is saved one transaction clears and
/// re-enables NAME, merges the next bitmap into it, removes it and swaps the receipt
/// <c>NAME.strata-at-SNAPSHOT</c>; after a failure the next bitmap is merged back and NAME
/// re-enabled, so no write is ever missing from NAME: the next backup reads more, never less. A
/// NAME that cannot be trusted is replaced by a fresh one in the first transaction (a full read).
/// </summary>
public sealed class QmpBitmapRotation(QmpClient qmp, string node, string bitmap)
{
    private readonly string _next = CbtBitmapNames.Next(bitmap);
    private List<string> _receipts = [];
    private bool _exists, _usable, _started;

    /// <summary>The bitmaps to export with the disk: NAME when it can be trusted.</summary>
    public IReadOnlyList<string> ExportedBitmaps => _usable ? [bitmap] : [];

    public async Task<CbtBitmapState> PrepareAsync(QmpBlockNode info, CancellationToken ct)
    {
        if (info.Bitmap(_next) is not null)
        {
            // Left by a run that was killed after freezing NAME: it holds the writes NAME lacks since then.
            var actions = new List<JsonObject>();
            if (info.Bitmap(bitmap) is { Inconsistent: false, Busy: false } frozen)
            {
                if (!frozen.Recording) actions.Add(QmpActions.EnableBitmap(node, bitmap));
                actions.Add(QmpActions.MergeBitmap(node, _next, bitmap));
            }
            actions.Add(QmpActions.RemoveBitmap(node, _next));
            await QmpActions.RunAsync(qmp, actions, ct).ConfigureAwait(false);
            info = await QmpBlockNode.FindAsync(qmp, node, ct).ConfigureAwait(false);
        }
        var b = info.Bitmap(bitmap);
        if (b is { Busy: true })
            throw new Errors.StrataException($"dirty bitmap '{bitmap}' of block node '{node}' is busy: another export or job in QEMU uses it; back up when that has ended");
        string? reason = b switch
        {
            null => $"dirty bitmap '{bitmap}' does not exist on block node '{node}'",
            { Inconsistent: true } => $"dirty bitmap '{bitmap}' of '{node}' was not saved cleanly (QEMU stopped abruptly), so it cannot be trusted",
            { Recording: false } => $"dirty bitmap '{bitmap}' of '{node}' is disabled and does not record writes",
            _ => null,
        };
        _exists = b is not null;
        _usable = reason is null;
        var names = info.Bitmaps.Select(x => x.Name).ToList();
        _receipts = CbtBitmapNames.Receipts(names, bitmap);
        return new CbtBitmapState(_usable, reason, CbtBitmapNames.CountsFrom(names, bitmap));
    }

    /// <summary>
    /// Before the transaction: an untrusted NAME and its receipts are removed (QEMU cannot remove and
    /// re-add one name in a single transaction), so that NAME can start afresh at the point in time.
    /// </summary>
    public async Task BeforeStartAsync(CancellationToken ct)
    {
        if (_usable) return;
        var actions = _receipts.Select(r => QmpActions.RemoveBitmap(node, r)).ToList();
        if (_exists) actions.Add(QmpActions.RemoveBitmap(node, bitmap));
        if (actions.Count > 0) await QmpActions.RunAsync(qmp, actions, ct).ConfigureAwait(false);
        _receipts.Clear();
    }

    /// <summary>Transaction actions at the point in time: freeze NAME and start the next bitmap, or start a fresh NAME.</summary>
    public IEnumerable<JsonObject> StartActions() => _usable
        ? [QmpActions.AddBitmap(node, _next), QmpActions.DisableBitmap(node, bitmap)]
        : [QmpActions.AddBitmap(node, bitmap)];

    /// <summary>The start transaction went through.</summary>
    public void Started() => _started = true;

    /// <summary>After the snapshot is saved: NAME counts from <paramref name="snapshot"/>, in one transaction.</summary>
    public async Task CommitAsync(BlobId snapshot, CancellationToken ct)
    {
        var actions = new List<JsonObject>();
        if (_usable)
        {
            // Enabled before the merge: a write between two actions lands in NAME or in the next bitmap, never in neither.
            actions.Add(QmpActions.ClearBitmap(node, bitmap));
            actions.Add(QmpActions.EnableBitmap(node, bitmap));
            actions.Add(QmpActions.MergeBitmap(node, _next, bitmap));
            actions.Add(QmpActions.RemoveBitmap(node, _next));
        }
        actions.AddRange(_receipts.Select(r => QmpActions.RemoveBitmap(node, r)));
        actions.Add(QmpActions.AddBitmap(node, CbtBitmapNames.Receipt(bitmap, snapshot), enabled: false));
        await QmpActions.RunAsync(qmp, actions, ct).ConfigureAwait(false);
    }

    /// <summary>After a failed backup: NAME records again and gets back the writes since the point in time.</summary>
    public async Task AbandonAsync()
    {
        if (!_started || !_usable || qmp.IsBroken) return;
        await QmpActions.RunAsync(qmp, [QmpActions.EnableBitmap(node, bitmap), QmpActions.MergeBitmap(node, _next, bitmap), QmpActions.RemoveBitmap(node, _next)],
            CancellationToken.None).ConfigureAwait(false);
    }
}
