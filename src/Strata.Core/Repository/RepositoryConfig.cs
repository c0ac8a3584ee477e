using System.Text.Json.Serialization;
using Strata.Chunking;

namespace Strata.Repository;

/// <summary>
/// Parameters fixed when the repository is created, stored sealed in the object <c>config</c>.
/// Everything that decides how bytes become blobs lives here, so every writer, on every machine,
/// chunks the same way and deduplicates against everyone else.
/// </summary>
public sealed class RepositoryConfig
{
    public const int CurrentVersion = 1;

    [JsonPropertyName("version")] public int Version { get; set; } = CurrentVersion;
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("created")] public DateTimeOffset Created { get; set; }
    [JsonPropertyName("chunker")] public ChunkerConfig Chunker { get; set; } = new();
    [JsonPropertyName("compression_level")] public int CompressionLevel { get; set; } = 3;
    [JsonPropertyName("pack_size")] public int PackSize { get; set; } = 16 << 20;

    public sealed class ChunkerConfig
    {
        [JsonPropertyName("algorithm")] public string Algorithm { get; set; } = "fastcdc-gear-v1";
        [JsonPropertyName("min_size")] public int MinSize { get; set; }
        [JsonPropertyName("avg_size")] public int AverageSize { get; set; }
        [JsonPropertyName("max_size")] public int MaxSize { get; set; }
        /// <summary>32 random bytes that seed the gear table (docs/FORMAT.md, "Chunking").</summary>
        [JsonPropertyName("gear_seed")] public byte[] GearSeed { get; set; } = [];

        public ChunkerParameters Parameters => new(MinSize, AverageSize, MaxSize);
    }
}
