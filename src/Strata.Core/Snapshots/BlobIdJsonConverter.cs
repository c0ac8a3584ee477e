using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Repository;

namespace Strata.Snapshots;

/// <summary>Ids appear in JSON as 64 lower-case hex digits.</summary>
public sealed class BlobIdJsonConverter : JsonConverter<BlobId>
{
    public override BlobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            // Copied to the stack, not made a string: a tree holds an id per chunk of every file.
            Span<char> hex = stackalloc char[BlobId.Size * 2];
            if (!reader.ValueIsEscaped && !reader.HasValueSequence && reader.ValueSpan.Length == hex.Length)
            {
                int length = reader.CopyString(hex);
                if (BlobId.TryParse(hex[..length], out var id)) return id;
            }
            else if (BlobId.TryParse(reader.GetString(), out var id)) return id;
        }
        throw new JsonException($"'{(reader.TokenType == JsonTokenType.String ? reader.GetString() : reader.TokenType.ToString())}' is not a 64-digit hex id");
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
