using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Errors;
using Strata.Snapshots;
using Strata.Storage;

namespace Strata.Repository;

/// <summary>
/// Phase one of garbage collection: packs a prune has condemned, stored sealed at <c>gc/&lt;id&gt;</c>.
/// Condemned packs stay readable, but writers no longer deduplicate against them. Phase two deletes
/// them once every writer that was running when the record was written has finished
/// (<see cref="Leases"/> lists those writers' leases; null until listed), sparing any pack that a
/// snapshot written meanwhile turned out to need (docs/FORMAT.md, "Garbage collection").
/// </summary>
public sealed class GarbageRecord
{
    [JsonPropertyName("created")] public DateTimeOffset Created { get; set; }
    [JsonPropertyName("packs")] public List<BlobId> Packs { get; set; } = new();
    [JsonPropertyName("leases")] public List<string>? Leases { get; set; }

    [JsonIgnore] public string Id { get; set; } = "";

    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public async Task SaveAsync(Repository repo, CancellationToken ct = default)
    {
        var stored = Envelope.Seal(repo.Key.Cipher, JsonSerializer.SerializeToUtf8Bytes(this, StrataJson.Default.GarbageRecord), repo.Config.CompressionLevel);
        await repo.Backend.PutAsync(Layout.GarbageFolder + Id, stored, ct).ConfigureAwait(false);
    }

    public static async Task<List<GarbageRecord>> ListAsync(Repository repo, CancellationToken ct = default)
    {
        var records = new List<GarbageRecord>();
        await foreach (var obj in repo.Backend.ListAsync(Layout.GarbageFolder, ct).ConfigureAwait(false))
        {
            byte[] stored;
            try { stored = await repo.Backend.GetAsync(obj.Name, ct: ct).ConfigureAwait(false); }
            catch (ObjectNotFoundException) { continue; } // completed by a prune while we listed
            GarbageRecord record;
            try
            {
                record = JsonSerializer.Deserialize(Envelope.Open(repo.Key.Cipher, stored, obj.Name), StrataJson.Default.GarbageRecord)
                         ?? throw new CorruptDataException($"{obj.Name}: empty");
            }
            catch (JsonException e)
            {
                throw new CorruptDataException($"{obj.Name}: not valid ({e.Message})");
            }
            record.Id = obj.Name[Layout.GarbageFolder.Length..];
            records.Add(record);
        }
        return records;
    }

    public Task DeleteAsync(Repository repo, CancellationToken ct = default) => repo.Backend.DeleteAsync(Layout.GarbageFolder + Id, ct);
}
