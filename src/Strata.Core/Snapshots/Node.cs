using System.Text.Json.Serialization;
using Strata.Platform;
using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>
/// One entry of a directory as stored in a tree (docs/FORMAT.md, "Trees"). Times are nanoseconds
/// since the Unix epoch; <see cref="Mode"/> holds permission bits only (type is <see cref="Type"/>).
/// </summary>
public sealed class Node
{
    public const string FileType = "file", DirType = "dir", SymlinkType = "symlink", FifoType = "fifo",
        SocketType = "socket", CharDeviceType = "chardev", BlockDeviceType = "blockdev";

    /// <summary>The <see cref="Type"/> of a file of this kind.</summary>
    public static string TypeOf(FileKind kind) => kind switch
    {
        FileKind.Regular => FileType,
        FileKind.Directory => DirType,
        FileKind.Symlink => SymlinkType,
        FileKind.Fifo => FifoType,
        FileKind.Socket => SocketType,
        FileKind.CharDevice => CharDeviceType,
        FileKind.BlockDevice => BlockDeviceType,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("type"), JsonConverter(typeof(RepeatedStringJsonConverter))] public string Type { get; set; } = FileType;
    [JsonPropertyName("mode")] public uint Mode { get; set; }
    [JsonPropertyName("uid")] public uint Uid { get; set; }
    [JsonPropertyName("gid")] public uint Gid { get; set; }
    [JsonPropertyName("user"), JsonConverter(typeof(RepeatedStringJsonConverter)), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? User { get; set; }
    [JsonPropertyName("group"), JsonConverter(typeof(RepeatedStringJsonConverter)), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Group { get; set; }
    [JsonPropertyName("mtime_ns")] public long MtimeNs { get; set; }
    /// <summary>0 when not recorded (the default); a restore then sets the access time to the mtime.</summary>
    [JsonPropertyName("atime_ns"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long AtimeNs { get; set; }
    [JsonPropertyName("ctime_ns")] public long CtimeNs { get; set; }
    [JsonPropertyName("inode")] public ulong Inode { get; set; }
    [JsonPropertyName("device_id")] public ulong DeviceId { get; set; }
    [JsonPropertyName("links")] public ulong Links { get; set; }
    [JsonPropertyName("size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long Size { get; set; }
    [JsonPropertyName("rdev"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong RDev { get; set; }
    [JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<BlobId>? Content { get; set; }
    [JsonPropertyName("subtree"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public BlobId? Subtree { get; set; }
    [JsonPropertyName("link_target"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? LinkTarget { get; set; }
    [JsonPropertyName("xattrs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<ExtendedAttribute>? Xattrs { get; set; }
    /// <summary>Set by <c>repair snapshots</c>: part of this file's data (or this directory's entries) was lost and left out.</summary>
    [JsonPropertyName("damaged"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Damaged { get; set; }

    /// <summary>The modification time for display (millisecond precision).</summary>
    [JsonIgnore] public DateTimeOffset ModificationTime => DateTimeOffset.FromUnixTimeMilliseconds(MtimeNs / 1_000_000);
    [JsonIgnore] public bool IsFile => Type == FileType;
    [JsonIgnore] public bool IsDirectory => Type == DirType;
    [JsonIgnore] public bool IsSymlink => Type == SymlinkType;
}

public sealed class ExtendedAttribute
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("value")] public byte[] Value { get; set; } = [];
}
