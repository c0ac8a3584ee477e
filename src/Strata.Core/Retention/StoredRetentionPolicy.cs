using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Errors;
using Strata.Repository;
using Strata.Storage;

namespace Strata.Retention;

/// <summary>
/// The repository's own retention policy, applied by <c>strata forget</c> without flags: the object
/// <c>policy</c>, an envelope of <c>{"version": 1, "policy": {canonical policy document}}</c>
/// (docs/FORMAT.md, "Retention policy"). Replaced atomically by a put; absent means none.
/// </summary>
public static class StoredRetentionPolicy
{
    public const string ObjectName = "policy";
    private const int CurrentVersion = 1;

    public static async Task<RetentionPolicy?> LoadAsync(Strata.Repository.Repository repo, CancellationToken ct = default)
    {
        byte[] stored;
        try
        {
            stored = await repo.Backend.GetAsync(ObjectName, ct: ct).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
        JsonNode? document;
        try
        {
            document = JsonNode.Parse(Envelope.Open(repo.Key.Cipher, stored, ObjectName));
        }
        catch (JsonException e)
        {
            throw new CorruptDataException($"{ObjectName}: not valid ({e.Message})");
        }
        if (document is not JsonObject root || root["version"] is not JsonValue version || !version.TryGetValue<int>(out var v))
            throw new CorruptDataException($"{ObjectName}: not a stored retention policy");
        if (v != CurrentVersion)
            throw new StrataException($"the repository's retention policy has format version {v}, which this Strata does not know (it knows {CurrentVersion})");
        try
        {
            return RetentionPolicyDocument.Parse(root["policy"]?.ToJsonString() ?? "null", "the repository's retention policy", yaml: false);
        }
        catch (UsageException e)
        {
            throw new CorruptDataException(e.Message);
        }
    }

    public static async Task SaveAsync(Strata.Repository.Repository repo, RetentionPolicy policy, CancellationToken ct = default)
    {
        policy.Validate();
        var document = new JsonObject { ["version"] = CurrentVersion, ["policy"] = RetentionPolicyDocument.ToJson(policy) };
        var sealedBytes = Envelope.Seal(repo.Key.Cipher, System.Text.Encoding.UTF8.GetBytes(document.ToJsonString()), 0);
        await repo.Backend.PutAsync(ObjectName, sealedBytes, ct).ConfigureAwait(false);
    }

    public static Task ClearAsync(Strata.Repository.Repository repo, CancellationToken ct = default) =>
        repo.Backend.DeleteAsync(ObjectName, ct);
}
