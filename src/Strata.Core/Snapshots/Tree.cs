using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Errors;

namespace Strata.Snapshots;

/// <summary>A directory's entries, sorted by name (ordinal), stored as a blob of type Tree.</summary>
public sealed class Tree
{
    [JsonPropertyName("nodes")] public List<Node> Nodes { get; set; } = new();

    public byte[] Serialize()
    {
        Nodes.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return JsonSerializer.SerializeToUtf8Bytes(this, StrataJson.Default.Tree);
    }

    public static Tree Deserialize(ReadOnlySpan<byte> json, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(json, StrataJson.Default.Tree) ?? throw new CorruptDataException($"{what}: empty tree");
        }
        catch (JsonException e)
        {
            throw new CorruptDataException($"{what}: not a valid tree ({e.Message})");
        }
    }

    public Node? Find(string name)
    {
        foreach (var node in Nodes) if (node.Name == name) return node;
        return null;
    }
}
