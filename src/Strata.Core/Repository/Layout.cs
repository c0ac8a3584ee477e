namespace Strata.Repository;

/// <summary>Names of the repository's objects in storage (docs/FORMAT.md, "Layout").</summary>
public static class Layout
{
    public const string Config = "config";
    public const string KeysFolder = "keys/";
    public const string DataFolder = "data/";
    public const string IndexFolder = "index/";
    public const string SnapshotsFolder = "snapshots/";
    public const string LocksFolder = "locks/";
    public const string GarbageFolder = "gc/";

    public static string Key(string id) => KeysFolder + id;
    public static string Pack(BlobId id) { var hex = id.ToString(); return $"{DataFolder}{hex[..2]}/{hex}"; }
    public static string Index(BlobId id) => IndexFolder + id;
    public static string Snapshot(BlobId id) => SnapshotsFolder + id;

    /// <summary>The id in the last path segment of a content-addressed object name, or null for anything else.</summary>
    public static BlobId? IdOf(string name)
    {
        var last = name[(name.LastIndexOf('/') + 1)..];
        return BlobId.TryParse(last, out var id) ? id : null;
    }
}
