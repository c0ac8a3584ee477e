using System.Text.Json.Serialization;
using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>
/// A recovery point: the root tree of a full view of the backed-up paths plus who, when and what.
/// Stored sealed at <c>snapshots/&lt;id&gt;</c>; it names no other snapshot's data, so deleting one
/// never damages another (the parent is a hint for change detection only).
/// </summary>
public sealed class Snapshot
{
    [JsonPropertyName("time")] public DateTimeOffset Time { get; set; }
    [JsonPropertyName("tree")] public BlobId Tree { get; set; }
    [JsonPropertyName("paths")] public List<string> Paths { get; set; } = new();
    [JsonPropertyName("hostname")] public string Hostname { get; set; } = "";
    [JsonPropertyName("username")] public string Username { get; set; } = "";
    [JsonPropertyName("uid")] public uint Uid { get; set; }
    [JsonPropertyName("gid")] public uint Gid { get; set; }
    [JsonPropertyName("tags"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<string>? Tags { get; set; }
    [JsonPropertyName("excludes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<string>? Excludes { get; set; }
    [JsonPropertyName("parent"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public BlobId? Parent { get; set; }
    /// <summary>
    /// The snapshot this one derives from: on copies (strata copy), the id of the snapshot first
    /// backed up, kept through chains of copies; on a snapshot written by <c>repair snapshots</c>,
    /// the damaged snapshot it replaces.
    /// </summary>
    [JsonPropertyName("original"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public BlobId? Original { get; set; }
    [JsonPropertyName("program_version")] public string ProgramVersion { get; set; } = "";
    [JsonPropertyName("summary"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SnapshotSummary? Summary { get; set; }

    /// <summary>What the snapshot holds: null (written as absent) for a file tree, <see cref="ImageKind"/> for a disk image (FORMAT.md §8).</summary>
    [JsonPropertyName("kind"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Kind { get; set; }

    /// <summary>For image snapshots: the image's size, block size, source and CBT metadata; <see cref="Tree"/> is then the block map.</summary>
    [JsonPropertyName("image"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ImageInfo? Image { get; set; }

    public const string ImageKind = "image";

    /// <summary>The tag <c>repair snapshots</c> gives the snapshot that replaces a damaged one.</summary>
    public const string RepairedTag = "repaired";

    [JsonIgnore] public bool IsImage => Kind == ImageKind;

    /// <summary>The storage id (SHA-256 of the stored object); set when loaded or saved.</summary>
    [JsonIgnore] public BlobId Id { get; set; }
}

public sealed class SnapshotSummary
{
    [JsonPropertyName("files_new")] public long FilesNew { get; set; }
    [JsonPropertyName("files_changed")] public long FilesChanged { get; set; }
    [JsonPropertyName("files_unmodified")] public long FilesUnmodified { get; set; }
    [JsonPropertyName("dirs")] public long Directories { get; set; }
    [JsonPropertyName("data_blobs")] public long DataBlobs { get; set; }
    [JsonPropertyName("tree_blobs")] public long TreeBlobs { get; set; }
    [JsonPropertyName("data_added")] public long DataAdded { get; set; }
    [JsonPropertyName("total_files_processed")] public long TotalFilesProcessed { get; set; }
    [JsonPropertyName("total_bytes_processed")] public long TotalBytesProcessed { get; set; }
    [JsonPropertyName("backup_start")] public DateTimeOffset BackupStart { get; set; }
    [JsonPropertyName("backup_end")] public DateTimeOffset BackupEnd { get; set; }
}
