using System.Globalization;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Mount;

/// <summary>
/// The names under which the mount shows the repository's snapshots: <c>snapshots/&lt;id&gt;</c> (the
/// first 8 hex digits, or all 64 where two snapshots share them) plus <c>snapshots/latest</c>;
/// <c>hosts/&lt;host&gt;/&lt;time&gt;</c> and <c>tags/&lt;tag&gt;/&lt;time&gt;</c> as symbolic links to those
/// directories, each folder with a <c>latest</c> link to its newest. Immutable: a refresh builds a new one.
/// </summary>
internal sealed class SnapshotCatalog
{
    public const string Latest = "latest";

    private SnapshotCatalog(IReadOnlyList<Snapshot> snapshots)
    {
        Snapshots = snapshots;
        var shortCounts = snapshots.GroupBy(s => s.Id.ToShortString()).ToDictionary(g => g.Key, g => g.Count());
        foreach (var s in snapshots)
        {
            var name = shortCounts[s.Id.ToShortString()] == 1 ? s.Id.ToShortString() : s.Id.ToString();
            ByName[name] = s;
            NameOf[s.Id] = name;
        }
        Hosts = Group(snapshots.Select(s => (Key: NameSafe(s.Hostname), s)));
        Tags = Group(snapshots.SelectMany(s => (s.Tags ?? []).Select(t => (Key: NameSafe(t), s))));
        LoadedAt = DateTime.UtcNow;
    }

    /// <summary>Oldest first.</summary>
    public IReadOnlyList<Snapshot> Snapshots { get; }
    public Dictionary<string, Snapshot> ByName { get; } = new(StringComparer.Ordinal);
    public Dictionary<BlobId, string> NameOf { get; } = new();
    /// <summary>Host → (time name → snapshot), and the time name of the newest.</summary>
    public Dictionary<string, TimeFolder> Hosts { get; }
    public Dictionary<string, TimeFolder> Tags { get; }
    public DateTime LoadedAt { get; }

    public Snapshot? Newest => Snapshots.Count == 0 ? null : Snapshots[^1];

    public static SnapshotCatalog Of(IEnumerable<Snapshot> snapshots) =>
        new(snapshots.OrderBy(s => s.Time).ThenBy(s => s.Id).ToList());

    /// <summary>A folder of snapshots named by time (UTC, ISO 8601), oldest first.</summary>
    public sealed class TimeFolder
    {
        public Dictionary<string, Snapshot> ByTime { get; } = new(StringComparer.Ordinal);
        public List<string> Names { get; } = new();
        public string LatestName => Names[^1];
    }

    private Dictionary<string, TimeFolder> Group(IEnumerable<(string Key, Snapshot Snapshot)> pairs)
    {
        var result = new Dictionary<string, TimeFolder>(StringComparer.Ordinal);
        foreach (var (key, snapshot) in pairs)
        {
            if (!result.TryGetValue(key, out var folder)) result[key] = folder = new TimeFolder();
            var name = snapshot.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            // Two snapshots within one second: the id tells them apart.
            if (folder.ByTime.ContainsKey(name)) name += "-" + NameOf[snapshot.Id];
            folder.ByTime[name] = snapshot;
            folder.Names.Add(name);
        }
        return result;
    }

    /// <summary>A host or tag as one path component: never empty, no '/', not '.' or '..'.</summary>
    private static string NameSafe(string s)
    {
        var name = s.Replace('/', '_').Replace('\0', '_');
        return name is "" or "." or ".." ? "_" + name : name;
    }
}
