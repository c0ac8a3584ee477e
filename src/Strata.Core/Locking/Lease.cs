using System.Text.Json.Serialization;

namespace Strata.Locking;

/// <summary>
/// A process's announcement that it is working on the repository, stored sealed at
/// <c>locks/&lt;random id&gt;</c> and rewritten (refreshed) while the work runs. Leases do not
/// exclude each other (except two prunes): they tell prune which writers may still rely on
/// blobs it wants to delete (docs/FORMAT.md, "Leases and garbage collection").
/// </summary>
public sealed class Lease
{
    public const string Backup = "backup";
    public const string Prune = "prune";
    public const string Repair = "repair";

    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [JsonPropertyName("hostname")] public string Hostname { get; set; } = "";
    [JsonPropertyName("pid")] public int Pid { get; set; }
    /// <summary>The process's start time in clock ticks since boot (/proc/PID/stat field 22), so a reused pid is not mistaken for the holder.</summary>
    [JsonPropertyName("process_start")] public long ProcessStart { get; set; }
    [JsonPropertyName("username")] public string Username { get; set; } = "";
    [JsonPropertyName("created")] public DateTimeOffset Created { get; set; }
    [JsonPropertyName("refreshed")] public DateTimeOffset Refreshed { get; set; }

    public override string ToString() => $"{Kind} by pid {Pid} on {Hostname} since {Created.LocalDateTime:yyyy-MM-dd HH:mm:ss}";
}

/// <summary>A lease as found in storage, with the verdict on whether its holder is still alive.</summary>
public sealed record LeaseEntry(string Id, Lease Lease, string? StaleReason)
{
    public bool IsStale => StaleReason is not null;
}
