using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Errors;

namespace Strata.Images;

/// <summary>What <c>qemu-img info</c> says about an image file, and the <c>qemu-img bitmap</c> operations Strata uses.</summary>
public sealed record QemuImageInfo(string Format, long VirtualSize, IReadOnlyList<QemuBitmapInfo> Bitmaps)
{
    public QemuBitmapInfo? Bitmap(string name) => Bitmaps.FirstOrDefault(b => b.Name == name);
}

/// <summary>A persistent dirty bitmap in a qcow2 file. In use = not saved cleanly (its owner crashed): its content cannot be trusted.</summary>
public sealed record QemuBitmapInfo(string Name, bool Enabled, bool InUse, long Granularity);

public static class QemuImg
{
    /// <summary>The qcow2 magic "QFI\xfb" at offset 0.</summary>
    public static bool IsQcow2(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return RandomAccess.Read(handle, magic, 0) == 4 && magic.SequenceEqual((ReadOnlySpan<byte>)[0x51, 0x46, 0x49, 0xfb]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot open {path}: {IoErrorText.Describe(e)}");
        }
    }

    public static async Task<QemuImageInfo> InfoAsync(string path, CancellationToken ct)
    {
        // -U (force share): reading metadata must work even while another process holds the image.
        var json = await QemuTool.RunAsync("qemu-img", ["info", "--output=json", "-U", path], $"reading {path}", ct).ConfigureAwait(false);
        try
        {
            var root = JsonNode.Parse(json)!.AsObject();
            var bitmaps = new List<QemuBitmapInfo>();
            if (root["format-specific"]?["data"]?["bitmaps"] is JsonArray list)
            {
                foreach (var b in list)
                {
                    var flags = (b?["flags"] as JsonArray)?.Select(f => (string?)f).ToList() ?? [];
                    bitmaps.Add(new QemuBitmapInfo((string?)b?["name"] ?? "", flags.Contains("auto"), flags.Contains("in-use"), (long?)b?["granularity"] ?? 0));
                }
            }
            return new QemuImageInfo((string?)root["format"] ?? "raw", (long?)root["virtual-size"] ?? 0, bitmaps);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new StrataException($"qemu-img info {path}: unexpected output ({e.Message})");
        }
    }

    public static Task AddBitmapAsync(string path, string name, bool enabled, CancellationToken ct) =>
        BitmapAsync(path, ["--add", enabled ? "--enable" : "--disable"], name, $"creating dirty bitmap '{name}' in {path}", ct);

    public static Task ClearBitmapAsync(string path, string name, CancellationToken ct) =>
        BitmapAsync(path, ["--clear"], name, $"clearing dirty bitmap '{name}' in {path}", ct);

    public static Task RemoveBitmapAsync(string path, string name, CancellationToken ct) =>
        BitmapAsync(path, ["--remove"], name, $"removing dirty bitmap '{name}' from {path}", ct);

    /// <summary>Clears (or, with <paramref name="create"/>, creates enabled) <paramref name="target"/> and merges <paramref name="source"/> into it, in one run.</summary>
    public static Task RestartBitmapFromAsync(string path, string target, bool create, string source, CancellationToken ct) =>
        BitmapAsync(path, [create ? "--add" : "--clear", "--merge", source], target, $"restarting dirty bitmap '{target}' in {path}", ct);

    /// <summary>Adds the bits of <paramref name="source"/> to <paramref name="target"/> (same image).</summary>
    public static Task MergeBitmapAsync(string path, string source, string target, CancellationToken ct) =>
        // No -b: naming the same file as the source image takes a second write lock and fails (FEASIBILITY §3).
        BitmapAsync(path, ["--merge", source], target, $"merging dirty bitmap '{source}' into '{target}' in {path}", ct);

    private static Task BitmapAsync(string path, string[] operation, string name, string what, CancellationToken ct) =>
        QemuTool.RunAsync("qemu-img", ["bitmap", .. operation, path, name], what, ct);
}
