using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>Ids appear in JSON as 64 lower-case hex digits.</summary>
public sealed class BlobIdJsonConverter : JsonConverter<BlobId>
{
    public override BlobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (!BlobId.TryParse(text, out var id)) throw new JsonException($"'{text}' is not a 64-digit hex id");
        return id;
    }

    public override void Write(Utf8JsonWriter writer, BlobId value, JsonSerializerOptions options)
    {
        Span<byte> raw = stackalloc byte[BlobId.Size];
        value.WriteTo(raw);
        Span<char> hex = stackalloc char[BlobId.Size * 2];
        Convert.TryToHexStringLower(raw, hex, out _);
        writer.WriteStringValue(hex);
    }
}
