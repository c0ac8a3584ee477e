using System.Text.Json.Serialization;
using Strata.Crypto;
using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>Source-generated JSON for every stored JSON document: no reflection on the hot path.</summary>
[JsonSourceGenerationOptions(Converters = [typeof(BlobIdJsonConverter)], DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(Tree))]
[JsonSerializable(typeof(Snapshot))]
[JsonSerializable(typeof(RepositoryConfig))]
[JsonSerializable(typeof(KeySlot))]
[JsonSerializable(typeof(Locking.Lease))]
[JsonSerializable(typeof(GarbageRecord))]
public sealed partial class StrataJson : JsonSerializerContext;
