using Strata.Repository;

namespace Strata.Images;

/// <summary>
/// The names Strata gives the bitmaps it keeps beside the user's CBT bitmap NAME, the same in a
/// qcow2 file (qemu-img) and in a running VM (QMP): <c>NAME.strata-next</c> records writes while a
/// backup runs, and a disabled, empty receipt <c>NAME.strata-at-SNAPSHOT</c> records which snapshot
/// NAME counts from (docs/ARCHITECTURE.md, "Changed-block tracking").
/// </summary>
public static class CbtBitmapNames
{
    private const string NextSuffix = ".strata-next";
    private const string ReceiptInfix = ".strata-at-";

    public static string Next(string bitmap) => bitmap + NextSuffix;

    public static string Receipt(string bitmap, BlobId snapshot) => bitmap + ReceiptInfix + snapshot;

    /// <summary>The receipts of <paramref name="bitmap"/> among <paramref name="names"/>.</summary>
    public static List<string> Receipts(IEnumerable<string> names, string bitmap) =>
        names.Where(n => n.StartsWith(bitmap + ReceiptInfix, StringComparison.Ordinal)).ToList();

    /// <summary>The snapshot the one receipt among <paramref name="names"/> names; null when there is none, or several.</summary>
    public static BlobId? CountsFrom(IEnumerable<string> names, string bitmap)
    {
        var receipts = Receipts(names, bitmap);
        return receipts.Count == 1 && BlobId.TryParse(receipts[0][(bitmap.Length + ReceiptInfix.Length)..], out var id) ? id : null;
    }
}
