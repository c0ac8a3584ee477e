using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Cli.Output;

/// <summary>One JSON document per line on stdout, for scripts (--json).</summary>
public static class JsonOutput
{
    private static readonly JsonSerializerOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    public static void Line(JsonNode node) => Console.Out.WriteLine(node.ToJsonString(Options));

    public static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
}
