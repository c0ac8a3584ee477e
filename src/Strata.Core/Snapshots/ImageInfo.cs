using System.Text.Json.Serialization;
using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>The "image" object of an image snapshot (docs/FORMAT.md §8a).</summary>
public sealed class ImageInfo
{
    /// <summary>The name that groups the recovery points of one disk (parent lookup, incremental restore).</summary>
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    /// <summary>Where the image was read from: a path or an NBD address.</summary>
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    /// <summary>raw, device, qcow2 or nbd.</summary>
    [JsonPropertyName("source_kind")] public string SourceKind { get; set; } = "";
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("block_size")] public int BlockSize { get; set; }
    /// <summary>The changed-extent list (CBT metadata): extents that differ from <see cref="ChangedSince"/>.</summary>
    [JsonPropertyName("changes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public BlobId? Changes { get; set; }
    /// <summary>The snapshot <see cref="Changes"/> is relative to (the parent); absent for a first backup.</summary>
    [JsonPropertyName("changed_since"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public BlobId? ChangedSince { get; set; }
    /// <summary>The changed-block tracking used, e.g. "qemu-bitmap:NAME"; absent when none was.</summary>
    [JsonPropertyName("cbt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Cbt { get; set; }
    /// <summary>True when every allocated block was read (no usable CBT), false when only dirty blocks were.</summary>
    [JsonPropertyName("full_read")] public bool FullRead { get; set; }
    [JsonPropertyName("bytes_read")] public long BytesRead { get; set; }
    [JsonPropertyName("bytes_changed")] public long BytesChanged { get; set; }
    [JsonPropertyName("data_added")] public long DataAdded { get; set; }
    [JsonPropertyName("backup_start")] public DateTimeOffset BackupStart { get; set; }
    [JsonPropertyName("backup_end")] public DateTimeOffset BackupEnd { get; set; }

    /// <summary>
    /// This description for a snapshot with other block ids (a repair, a copy into another
    /// repository): the same disk and backup figures, with the given change list, or none.
    /// </summary>
    public ImageInfo WithChanges(BlobId? changes, BlobId? changedSince) => new()
    {
        Name = Name, Source = Source, SourceKind = SourceKind, Size = Size, BlockSize = BlockSize,
        Changes = changes, ChangedSince = changedSince,
        Cbt = Cbt, FullRead = FullRead, BytesRead = BytesRead, BytesChanged = BytesChanged,
        DataAdded = DataAdded, BackupStart = BackupStart, BackupEnd = BackupEnd,
    };
}
