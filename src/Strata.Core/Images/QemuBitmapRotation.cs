using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// Keeps a user-named persistent dirty bitmap of a qcow2 file in step with the backups
/// (docs/ARCHITECTURE.md, "Changed-block tracking"). Before reading, a second bitmap
/// <c>NAME.strata-next</c> starts recording; after the snapshot is saved, NAME is cleared and
/// the next bitmap merged into it and removed, and a disabled, empty receipt bitmap
/// <c>NAME.strata-at-SNAPSHOT</c> records which snapshot NAME now counts from. A run that fails
/// anywhere leaves NAME holding at least every write since the receipt's snapshot: the next
/// backup reads more, never less. The image must not be in use by a running VM (qemu-img needs its lock).
/// </summary>
public sealed class QemuBitmapRotation(string imagePath, string bitmap)
{
    private QemuImageInfo? _seen;

    public string Bitmap => bitmap;
    public string NextName => CbtBitmapNames.Next(bitmap);
    public string ReceiptName(BlobId snapshot) => CbtBitmapNames.Receipt(bitmap, snapshot);

    public async Task<CbtBitmapState> PrepareAsync(CancellationToken ct)
    {
        var info = await QemuImg.InfoAsync(imagePath, ct).ConfigureAwait(false);
        if (info.Bitmap(NextName) is not null)
        {
            // Left by a run interrupted after clearing NAME: it holds writes NAME lacks, so fold it in before anything else.
            if (info.Bitmap(bitmap) is { InUse: false }) await QemuImg.MergeBitmapAsync(imagePath, NextName, bitmap, ct).ConfigureAwait(false);
            await QemuImg.RemoveBitmapAsync(imagePath, NextName, ct).ConfigureAwait(false);
            info = await QemuImg.InfoAsync(imagePath, ct).ConfigureAwait(false);
        }
        _seen = info;
        var b = info.Bitmap(bitmap);
        string? reason = b switch
        {
            null => $"dirty bitmap '{bitmap}' does not exist in {imagePath}",
            { InUse: true } => $"dirty bitmap '{bitmap}' in {imagePath} was not saved cleanly (its writer stopped abruptly), so it cannot be trusted",
            { Enabled: false } => $"dirty bitmap '{bitmap}' in {imagePath} is disabled and does not record writes",
            _ => null,
        };
        BlobId? countsFrom = CountsFrom(info, bitmap);
        await QemuImg.AddBitmapAsync(imagePath, NextName, enabled: true, ct).ConfigureAwait(false);
        return new CbtBitmapState(reason is null, reason, countsFrom);
    }

    /// <summary>
    /// After the snapshot is saved: NAME now counts from <paramref name="snapshot"/>. Works from the
    /// bitmaps <see cref="PrepareAsync"/> saw (the image was ours in between: qemu-nbd held its lock),
    /// so it costs four qemu-img runs and no extra info.
    /// </summary>
    public async Task CommitAsync(BlobId snapshot, CancellationToken ct)
    {
        if (_seen is null) throw new InvalidOperationException("CommitAsync before PrepareAsync");
        var b = _seen.Bitmap(bitmap);
        bool healthy = b is { InUse: false, Enabled: true };
        if (b is not null && !healthy) await QemuImg.RemoveBitmapAsync(imagePath, bitmap, ct).ConfigureAwait(false);
        // One qemu-img run, its operations in order: NAME starts afresh with what NAME.strata-next saw since the backup began.
        await QemuImg.RestartBitmapFromAsync(imagePath, bitmap, create: !healthy, NextName, ct).ConfigureAwait(false);
        await QemuImg.RemoveBitmapAsync(imagePath, NextName, ct).ConfigureAwait(false);
        foreach (var old in Receipts(_seen)) await QemuImg.RemoveBitmapAsync(imagePath, old, ct).ConfigureAwait(false);
        await QemuImg.AddBitmapAsync(imagePath, ReceiptName(snapshot), enabled: false, ct).ConfigureAwait(false);
    }

    /// <summary>After a failed backup: fold the next bitmap back into NAME (best effort; <see cref="PrepareAsync"/> repairs what this leaves).</summary>
    public async Task AbandonAsync()
    {
        try
        {
            var info = await QemuImg.InfoAsync(imagePath, CancellationToken.None).ConfigureAwait(false);
            if (info.Bitmap(NextName) is null) return;
            if (info.Bitmap(bitmap) is { InUse: false }) await QemuImg.MergeBitmapAsync(imagePath, NextName, bitmap, CancellationToken.None).ConfigureAwait(false);
            await QemuImg.RemoveBitmapAsync(imagePath, NextName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Errors.StrataException) { }
    }

    /// <summary>The snapshot a receipt in the image names, if exactly one is there.</summary>
    public static BlobId? CountsFrom(QemuImageInfo info, string bitmap) => CbtBitmapNames.CountsFrom(info.Bitmaps.Select(b => b.Name), bitmap);

    private List<string> Receipts(QemuImageInfo info) => CbtBitmapNames.Receipts(info.Bitmaps.Select(b => b.Name), bitmap);
}
