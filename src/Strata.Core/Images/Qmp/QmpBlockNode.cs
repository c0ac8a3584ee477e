using System.Text.Json.Nodes;
using Strata.Errors;

namespace Strata.Images.Qmp;

/// <summary>
/// A block node of a running QEMU: its node name, guest-visible size and dirty bitmaps, found by
/// node name or by drive/device name (a <c>-drive id=…</c> or <c>-device …,id=…</c>), so that
/// every later command can name the node itself.
/// </summary>
public sealed record QmpBlockNode(string NodeName, long VirtualSize, IReadOnlyList<QmpDirtyBitmap> Bitmaps)
{
    public QmpDirtyBitmap? Bitmap(string name) => Bitmaps.FirstOrDefault(b => b.Name == name);

    public static async Task<QmpBlockNode> FindAsync(QmpClient qmp, string name, CancellationToken ct)
    {
        var nodes = (await qmp.ExecuteAsync("query-named-block-nodes", new JsonObject { ["flat"] = true }, ct).ConfigureAwait(false))?.AsArray() ?? [];
        var node = nodes.FirstOrDefault(n => (string?)n?["node-name"] == name);
        if (node is null)
        {
            // A drive or device name: query-block maps it to the node at the top of its tree (the format node).
            var blocks = (await qmp.ExecuteAsync("query-block", null, ct).ConfigureAwait(false))?.AsArray() ?? [];
            var block = blocks.FirstOrDefault(b => (string?)b?["device"] == name || (string?)b?["qdev"] == name
                || ((string?)b?["qdev"])?.StartsWith("/machine/peripheral/" + name + "/", StringComparison.Ordinal) == true);
            var nodeName = (string?)block?["inserted"]?["node-name"];
            node = nodeName is null ? null : nodes.FirstOrDefault(n => (string?)n?["node-name"] == nodeName);
            if (node is null)
            {
                var known = nodes.Select(n => (string?)n?["node-name"]).Where(n => n is not null && !n.StartsWith('#'))
                    .Concat(blocks.Select(b => (string?)b?["device"]).Where(d => !string.IsNullOrEmpty(d)));
                throw new UsageException($"QEMU at {qmp.SocketPath} has no block node or drive '{name}' (it has: {string.Join(", ", known.Distinct())})");
            }
        }
        long size = (long?)node["image"]?["virtual-size"] ?? throw new StrataException($"QEMU did not report the size of block node '{name}'");
        var bitmaps = (node["dirty-bitmaps"] as JsonArray ?? []).Select(b => new QmpDirtyBitmap(
            (string?)b?["name"] ?? "", (bool?)b?["recording"] ?? false, (bool?)b?["busy"] ?? false,
            (bool?)b?["persistent"] ?? false, (bool?)b?["inconsistent"] ?? false, (long?)b?["count"] ?? 0)).ToList();
        return new QmpBlockNode((string)node["node-name"]!, size, bitmaps);
    }
}
