using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Errors;

namespace Strata.Replication;

/// <summary>
/// What <c>strata replicate</c> does unattended, read from a JSON file: one source and several
/// targets (e.g. two regions), each with time windows and their bandwidth limits, a choice of
/// snapshots and a retention for the copies. See README "Replicating off-site".
/// </summary>
public sealed class ReplicationPolicy
{
    /// <summary>The repository to replicate; default: --repo / $STRATA_REPOSITORY.</summary>
    [JsonPropertyName("source")] public string? Source { get; set; }
    [JsonPropertyName("source_password_file")] public string? SourcePasswordFile { get; set; }
    [JsonPropertyName("targets")] public List<ReplicationTarget> Targets { get; set; } = new();

    public static ReplicationPolicy Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read replication policy {path}: {IoErrorText.Describe(e)}");
        }
        return Parse(bytes, path);
    }

    public static ReplicationPolicy Parse(ReadOnlySpan<byte> json, string what)
    {
        ReplicationPolicy? policy;
        try { policy = JsonSerializer.Deserialize(json, ReplicationPolicyJson.Default.ReplicationPolicy); }
        catch (JsonException e)
        {
            throw new UsageException($"replication policy {what}: not valid JSON ({e.Message})");
        }
        if (policy is null) throw new UsageException($"replication policy {what}: empty");
        policy.Validate(what);
        return policy;
    }

    private void Validate(string what)
    {
        if (Targets.Count == 0) throw new UsageException($"replication policy {what}: no targets");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Targets.Count; i++)
        {
            var t = Targets[i];
            var label = $"replication policy {what}, target {(string.IsNullOrEmpty(t.Name) ? (i + 1).ToString() : $"'{t.Name}'")}";
            if (string.IsNullOrWhiteSpace(t.Repository)) throw new UsageException($"{label}: no \"repository\"");
            if (string.IsNullOrEmpty(t.Name)) t.Name = t.Repository;
            if (!names.Add(t.Name)) throw new UsageException($"{label}: the name is used twice");
            if (t.Snapshots is not ("all" or "latest"))
                throw new UsageException($"{label}: \"snapshots\" must be \"all\" or \"latest\" (the newest per host and paths), not \"{t.Snapshots}\"");
            if (t.LimitUploadKib is < 0) throw new UsageException($"{label}: \"limit_upload_kib\" must not be negative");
            foreach (var w in t.Windows)
            {
                w.Validate(label);
            }
            t.Retention?.Validate(label);
        }
    }
}

public sealed class ReplicationTarget
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("repository")] public string Repository { get; set; } = "";
    /// <summary>Default: $STRATA_TO_PASSWORD, $STRATA_TO_PASSWORD_FILE, then $STRATA_PASSWORD….</summary>
    [JsonPropertyName("password_file")] public string? PasswordFile { get; set; }
    /// <summary>When copying may run (local time); none = any time.</summary>
    [JsonPropertyName("windows")] public List<ReplicationWindow> Windows { get; set; } = new();
    /// <summary>Upload limit outside any window's own limit, KiB/s.</summary>
    [JsonPropertyName("limit_upload_kib")] public long? LimitUploadKib { get; set; }
    /// <summary>"all" or "latest" (the newest snapshot of each host and paths).</summary>
    [JsonPropertyName("snapshots")] public string Snapshots { get; set; } = "all";
    [JsonPropertyName("hosts")] public List<string>? Hosts { get; set; }
    /// <summary>Only snapshots carrying all these tags.</summary>
    [JsonPropertyName("tags")] public List<string>? Tags { get; set; }
    [JsonPropertyName("retention")] public TargetRetention? Retention { get; set; }
}

[JsonSerializable(typeof(ReplicationPolicy))]
[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
internal sealed partial class ReplicationPolicyJson : JsonSerializerContext;
