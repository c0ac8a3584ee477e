using System.Text.Json.Nodes;
using Strata.Snapshots;

namespace Strata.Cli.Output;

internal static class SnapshotView
{
    public static JsonObject ToJson(Snapshot s)
    {
        var json = new JsonObject
        {
            ["id"] = s.Id.ToString(),
            ["short_id"] = s.Id.ToShortString(),
            ["time"] = s.Time.ToString("o"),
            ["tree"] = s.Tree.ToString(),
            ["paths"] = new JsonArray(s.Paths.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()),
            ["hostname"] = s.Hostname,
            ["username"] = s.Username,
            ["uid"] = s.Uid,
            ["gid"] = s.Gid,
            ["tags"] = new JsonArray((s.Tags ?? []).Select(t => (JsonNode)JsonValue.Create(t)).ToArray()),
            ["program_version"] = s.ProgramVersion,
        };
        if (s.Parent is { } parent) json["parent"] = parent.ToString();
        if (s.IsImage && s.Image is { } image)
        {
            json["kind"] = s.Kind;
            json["image"] = new JsonObject
            {
                ["name"] = image.Name,
                ["source"] = image.Source,
                ["source_kind"] = image.SourceKind,
                ["size"] = image.Size,
                ["block_size"] = image.BlockSize,
                ["cbt"] = image.Cbt,
                ["full_read"] = image.FullRead,
                ["changed_since"] = image.ChangedSince?.ToString(),
                ["bytes_read"] = image.BytesRead,
                ["bytes_changed"] = image.BytesChanged,
                ["data_added"] = image.DataAdded,
            };
        }
        if (s.Summary is { } sum)
            json["summary"] = new JsonObject
            {
                ["files_new"] = sum.FilesNew,
                ["files_changed"] = sum.FilesChanged,
                ["files_unmodified"] = sum.FilesUnmodified,
                ["data_added"] = sum.DataAdded,
                ["total_files_processed"] = sum.TotalFilesProcessed,
                ["total_bytes_processed"] = sum.TotalBytesProcessed,
            };
        return json;
    }

    public static string Describe(Snapshot s) => $"{s.Id.ToShortString()} ({s.Time.LocalDateTime:yyyy-MM-dd HH:mm:ss}, {s.Hostname}, {string.Join(" ", s.Paths)})";
}
