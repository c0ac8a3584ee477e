using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Strata.Repository;
using Strata.Retention;
using Strata.Snapshots;

namespace Strata.Tests.Retention;

/// <summary>
/// Synthetic snapshots written as the wall-clock times a person in <see cref="Zone"/> would read:
/// "2026-03-29 03:10", or with an explicit offset where DST repeats an hour ("2026-11-01 01:30 -05:00"),
/// or an instant in UTC ("2026-03-28 23:30Z"). Each snapshot's label is the text it was made from.
/// </summary>
public sealed class Timeline
{
    private readonly Dictionary<BlobId, string> _labels = new();

    public Timeline(string zone) => Zone = TimeZoneInfo.FindSystemTimeZoneById(zone);

    public TimeZoneInfo Zone { get; }
    public List<Snapshot> Snapshots { get; } = new();

    public Timeline At(params string[] times) => With("host-a", ["/data"], null, times);

    public Timeline With(string host, string[] paths, string[]? tags, params string[] times)
    {
        foreach (var time in times)
        {
            var label = $"{time}|{host}|{string.Join(",", paths)}|{string.Join(",", tags ?? [])}";
            var snapshot = new Snapshot
            {
                Time = Parse(time),
                Tree = new BlobId(SHA256.HashData(Encoding.UTF8.GetBytes("tree " + label))),
                Paths = [.. paths],
                Hostname = host,
                Username = "test",
                Tags = tags is null ? null : [.. tags],
                Id = new BlobId(SHA256.HashData(Encoding.UTF8.GetBytes(label))),
            };
            Snapshots.Add(snapshot);
            _labels[snapshot.Id] = time;
        }
        return this;
    }

    public string Label(Snapshot s) => _labels[s.Id];

    /// <summary>Labels of the snapshots the policy keeps, newest first within each group.</summary>
    public List<string> Kept(RetentionPolicy policy) =>
        RetentionPlanner.Plan(Snapshots, policy, Zone).SelectMany(g => g.Kept).Select(Label).ToList();

    /// <summary>Label → reasons, for every snapshot.</summary>
    public Dictionary<string, string> Reasons(RetentionPolicy policy) =>
        RetentionPlanner.Plan(Snapshots, policy, Zone).SelectMany(g => g.Decisions).ToDictionary(d => Label(d.Snapshot), d => string.Join(", ", d.Reasons));

    public DateTimeOffset Parse(string text)
    {
        var t = text.Trim();
        if (t.EndsWith('Z'))
            return DateTimeOffset.ParseExact(t[..^1], "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        if (t.Length > 16)
            return DateTimeOffset.ParseExact(t, "yyyy-MM-dd HH:mm zzz", CultureInfo.InvariantCulture);
        var wall = DateTime.ParseExact(t, "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        if (Zone.IsInvalidTime(wall)) throw new ArgumentException($"{text} does not exist in {Zone.Id}");
        if (Zone.IsAmbiguousTime(wall)) throw new ArgumentException($"{text} is ambiguous in {Zone.Id}: give the offset");
        return new DateTimeOffset(wall, Zone.GetUtcOffset(wall));
    }
}
