using System.Text.Json.Nodes;

namespace Strata.Images.Qmp;

/// <summary>
/// The actions of a QMP <c>transaction</c> Strata uses, all checked against qemu 7.2 (each is a
/// transaction action there): QEMU applies them all or none, at one instant for the guest.
/// </summary>
public static class QmpActions
{
    public static JsonObject AddBitmap(string node, string name, bool enabled = true) =>
        Action("block-dirty-bitmap-add", new JsonObject { ["node"] = node, ["name"] = name, ["persistent"] = true, ["disabled"] = !enabled });

    public static JsonObject RemoveBitmap(string node, string name) => Bitmap("block-dirty-bitmap-remove", node, name);
    public static JsonObject ClearBitmap(string node, string name) => Bitmap("block-dirty-bitmap-clear", node, name);
    public static JsonObject EnableBitmap(string node, string name) => Bitmap("block-dirty-bitmap-enable", node, name);
    public static JsonObject DisableBitmap(string node, string name) => Bitmap("block-dirty-bitmap-disable", node, name);

    /// <summary>Adds the bits of <paramref name="source"/> to <paramref name="target"/> (both on <paramref name="node"/>).</summary>
    public static JsonObject MergeBitmap(string node, string source, string target) =>
        Action("block-dirty-bitmap-merge", new JsonObject { ["node"] = node, ["target"] = target, ["bitmaps"] = new JsonArray(source) });

    /// <summary>
    /// A backup job with sync=none: from now on it copies each block the guest is about to overwrite
    /// into <paramref name="target"/> first, so an overlay on the node keeps today's view (fleecing).
    /// </summary>
    public static JsonObject FleeceBackup(string node, string target, string jobId) =>
        Action("blockdev-backup", new JsonObject { ["device"] = node, ["target"] = target, ["sync"] = "none", ["job-id"] = jobId, ["auto-dismiss"] = true });

    public static Task RunAsync(QmpClient qmp, IEnumerable<JsonObject> actions, CancellationToken ct) =>
        qmp.ExecuteAsync("transaction", new JsonObject { ["actions"] = new JsonArray([.. actions]) }, ct);

    private static JsonObject Bitmap(string type, string node, string name) => Action(type, new JsonObject { ["node"] = node, ["name"] = name });

    private static JsonObject Action(string type, JsonObject data) => new() { ["type"] = type, ["data"] = data };
}
