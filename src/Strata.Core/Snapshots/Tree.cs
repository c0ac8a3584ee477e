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

    /// <summary>
    /// Serializes into a caller's buffer. The backup reuses a few of these: the shared ArrayPool that
    /// <see cref="Serialize"/> goes through keeps every size it ever grew to (megabytes for a directory of
    /// 18,000 entries) for the life of the process.
    /// </summary>
    public void SerializeTo(System.Buffers.ArrayBufferWriter<byte> output)
    {
        Nodes.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        using var writer = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(writer, this, StrataJson.Default.Tree);
    }

    public static Tree Deserialize(ReadOnlySpan<byte> json, string what)
    {
        try
        {
            var tree = JsonSerializer.Deserialize(json, StrataJson.Default.Tree) ?? throw new CorruptDataException($"{what}: empty tree");
            Validate(tree, what);
            return tree;
        }
        catch (JsonException e)
        {
            throw new CorruptDataException($"{what}: not a valid tree ({e.Message})");
        }
    }

    /// <summary>Well-formed JSON can still hold nulls where every reader of a tree expects values.</summary>
    private static void Validate(Tree tree, string what)
    {
        if (tree.Nodes is null) throw new CorruptDataException($"{what}: not a valid tree (no node list)");
        foreach (var node in tree.Nodes)
        {
            if (node is null) throw new CorruptDataException($"{what}: not a valid tree (null node)");
            if (node.Name is null || node.Type is null) throw new CorruptDataException($"{what}: not a valid tree (node without name or type)");
            if (node.Xattrs is not null && node.Xattrs.Any(x => x is null || x.Name is null || x.Value is null))
                throw new CorruptDataException($"{what}: not a valid tree (null extended attribute in '{node.Name}')");
        }
    }

    /// <summary>
    /// The node called <paramref name="name"/>, by binary search: stored trees are sorted by name, and
    /// a backup looks up every entry of a directory in the parent's tree (linear search would make
    /// large directories quadratic). An unsorted tree, which only damage can produce, may miss names.
    /// </summary>
    public Node? Find(string name)
    {
        int low = 0, high = Nodes.Count - 1;
        while (low <= high)
        {
            int mid = (low + high) >>> 1;
            int c = string.CompareOrdinal(Nodes[mid].Name, name);
            if (c == 0) return Nodes[mid];
            if (c < 0) low = mid + 1;
            else high = mid - 1;
        }
        return null;
    }
}
