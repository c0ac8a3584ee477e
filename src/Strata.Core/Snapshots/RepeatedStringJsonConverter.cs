using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Strata.Snapshots;

/// <summary>
/// Reads a string that repeats across nodes (type, user, group) as one shared instance: a tree of
/// 50,000 files would otherwise hold 150,000 copies of "file", "root" and "root", and a restore or
/// a mount reads every tree of a snapshot.
/// </summary>
public sealed class RepeatedStringJsonConverter : JsonConverter<string>
{
    private const int MaxLength = 64;
    private const int MaxKept = 4096;
    private static readonly ConcurrentDictionary<string, string> Known = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> KnownBySpan =
        Known.GetAlternateLookup<ReadOnlySpan<char>>();

    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new JsonException($"expected a string, found {reader.TokenType}");
        if (reader.HasValueSequence || reader.ValueSpan.Length > MaxLength) return reader.GetString()!;
        Span<char> chars = stackalloc char[MaxLength];
        var text = chars[..reader.CopyString(chars)];
        if (KnownBySpan.TryGetValue(text, out var known)) return known;
        var value = new string(text);
        // Bounded: a hostile or unusual tree cannot grow this table without limit.
        if (Known.Count < MaxKept) Known.TryAdd(value, value);
        return value;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
