using System.Security.Cryptography;
using System.Text;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Tests.Snapshots;

public class TreeTests
{
    private static BlobId RandomId() => new(RandomNumberGenerator.GetBytes(BlobId.Size));

    private static Node FileNode(string name) => new()
    {
        Name = name,
        Type = Node.FileType,
        Mode = Convert.ToUInt32("644", 8),
        Uid = 1000,
        Gid = 100,
        User = "alice",
        Group = "users",
        MtimeNs = 1_700_000_000_123_456_789,
        AtimeNs = 1_700_000_001_000_000_001,
        CtimeNs = -1, // before the epoch is possible on some file systems
        Inode = ulong.MaxValue,
        DeviceId = 0xFD01,
        Links = 2,
        Size = 3L << 40,
        Content = [RandomId(), RandomId(), RandomId()],
        Xattrs =
        [
            new ExtendedAttribute { Name = "user.comment", Value = Encoding.UTF8.GetBytes("hello") },
            new ExtendedAttribute { Name = "security.selinux", Value = [0, 1, 2, 0xFF, 0x80, 0] },
            new ExtendedAttribute { Name = "user.empty", Value = [] },
        ],
    };

    private static void AssertSameNode(Node expected, Node actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Mode, actual.Mode);
        Assert.Equal(expected.Uid, actual.Uid);
        Assert.Equal(expected.Gid, actual.Gid);
        Assert.Equal(expected.User, actual.User);
        Assert.Equal(expected.Group, actual.Group);
        Assert.Equal(expected.MtimeNs, actual.MtimeNs);
        Assert.Equal(expected.AtimeNs, actual.AtimeNs);
        Assert.Equal(expected.CtimeNs, actual.CtimeNs);
        Assert.Equal(expected.Inode, actual.Inode);
        Assert.Equal(expected.DeviceId, actual.DeviceId);
        Assert.Equal(expected.Links, actual.Links);
        Assert.Equal(expected.Size, actual.Size);
        Assert.Equal(expected.RDev, actual.RDev);
        Assert.Equal(expected.Content, actual.Content);
        Assert.Equal(expected.Subtree, actual.Subtree);
        Assert.Equal(expected.LinkTarget, actual.LinkTarget);
        if (expected.Xattrs is null)
        {
            Assert.Null(actual.Xattrs);
        }
        else
        {
            Assert.NotNull(actual.Xattrs);
            Assert.Equal(expected.Xattrs.Select(x => x.Name), actual.Xattrs.Select(x => x.Name));
            for (int i = 0; i < expected.Xattrs.Count; i++) Assert.Equal(expected.Xattrs[i].Value, actual.Xattrs[i].Value);
        }
    }

    private static Tree RoundTrip(Tree tree) => Tree.Deserialize(tree.Serialize(), "tree");

    [Fact]
    public void A_file_node_keeps_every_field_through_serialization()
    {
        var node = FileNode("report.pdf");

        var back = Assert.Single(RoundTrip(new Tree { Nodes = [node] }).Nodes);

        AssertSameNode(node, back);
    }

    [Fact]
    public void Directory_symlink_and_device_nodes_keep_their_particular_fields()
    {
        var subtree = RandomId();
        var nodes = new List<Node>
        {
            new() { Name = "dir", Type = Node.DirType, Mode = Convert.ToUInt32("755", 8), Subtree = subtree },
            new() { Name = "link", Type = Node.SymlinkType, LinkTarget = "../target with spaces/ü" },
            new() { Name = "sda", Type = Node.BlockDeviceType, RDev = 0x0800 },
            new() { Name = "tty", Type = Node.CharDeviceType, RDev = 0x0400 },
            new() { Name = "fifo", Type = Node.FifoType },
            new() { Name = "sock", Type = Node.SocketType },
        };
        var expected = nodes.ToDictionary(n => n.Name);

        var back = RoundTrip(new Tree { Nodes = nodes });

        Assert.Equal(6, back.Nodes.Count);
        foreach (var node in back.Nodes) AssertSameNode(expected[node.Name], node);
        Assert.Equal(subtree, back.Find("dir")!.Subtree);
        Assert.True(back.Find("dir")!.IsDirectory);
        Assert.True(back.Find("link")!.IsSymlink);
    }

    [Fact]
    public void Absent_optional_fields_stay_absent()
    {
        var node = new Node { Name = "plain", Type = Node.FileType };

        var json = Encoding.UTF8.GetString(new Tree { Nodes = [node] }.Serialize());
        var back = Assert.Single(Tree.Deserialize(Encoding.UTF8.GetBytes(json), "tree").Nodes);

        foreach (var field in new[] { "\"content\"", "\"subtree\"", "\"xattrs\"", "\"link_target\"", "\"user\"", "\"group\"", "\"size\"", "\"rdev\"" })
            Assert.DoesNotContain(field, json);
        Assert.Null(back.Content);
        Assert.Null(back.Subtree);
        Assert.Null(back.Xattrs);
        Assert.Null(back.LinkTarget);
        Assert.Equal(0, back.Size);
    }

    [Fact]
    public void An_empty_file_keeps_an_empty_content_list_distinct_from_none()
    {
        var back = Assert.Single(RoundTrip(new Tree { Nodes = [new Node { Name = "empty", Content = [] }] }).Nodes);

        Assert.NotNull(back.Content);
        Assert.Empty(back.Content);
    }

    [Fact]
    public void Ids_are_written_as_64_lower_case_hex_digits()
    {
        var id = RandomId();

        var json = Encoding.UTF8.GetString(new Tree { Nodes = [new Node { Name = "d", Type = Node.DirType, Subtree = id }] }.Serialize());

        Assert.Contains($"\"subtree\":\"{id}\"", json);
        Assert.Matches("^[0-9a-f]{64}$", id.ToString());
    }

    [Fact]
    public void Nodes_are_serialized_sorted_by_name_in_ordinal_order()
    {
        string[] names = ["b", "B", "a", "é", "_", "a.txt", "a-b", "Z", "10", "9", "ß", "A"];
        var tree = new Tree { Nodes = names.Select(n => new Node { Name = n }).ToList() };

        var back = RoundTrip(tree);

        var ordinal = names.ToList();
        ordinal.Sort(string.CompareOrdinal);
        Assert.Equal(ordinal, back.Nodes.Select(n => n.Name));
        Assert.Equal(["10", "9", "A", "B", "Z", "_", "a", "a-b", "a.txt", "b", "ß", "é"], back.Nodes.Select(n => n.Name));
    }

    [Fact]
    public void The_same_entries_in_any_order_serialize_to_the_same_bytes()
    {
        // Identical trees must give identical blobs, or unchanged directories would not deduplicate.
        var nodes = new[] { "c", "a", "b" }.Select(n => new Node { Name = n, Size = n[0] }).ToList();
        var reversed = Enumerable.Reverse(nodes).Select(n => new Node { Name = n.Name, Size = n.Size }).ToList();

        Assert.Equal(new Tree { Nodes = nodes }.Serialize(), new Tree { Nodes = reversed }.Serialize());
    }

    [Fact]
    public void Names_that_are_not_plain_ascii_survive()
    {
        string[] names = ["日本語.txt", "emoji-😀", "tab\there", "new\nline", "quote\"s", "back\\slash", " leading space"];

        var back = RoundTrip(new Tree { Nodes = names.Select(n => new Node { Name = n }).ToList() });

        Assert.Equal(names.Order(StringComparer.Ordinal), back.Nodes.Select(n => n.Name));
    }

    [Fact]
    public void An_empty_tree_round_trips()
    {
        Assert.Empty(RoundTrip(new Tree()).Nodes);
    }

    [Fact]
    public void Find_returns_the_node_with_that_exact_name_or_null()
    {
        // Stored trees are sorted by ordinal name ('A' before 'a'), which Find relies on.
        var tree = new Tree { Nodes = [new Node { Name = "A" }, new Node { Name = "a" }] };

        Assert.Same(tree.Nodes[0], tree.Find("A"));
        Assert.Same(tree.Nodes[1], tree.Find("a"));
        Assert.Null(tree.Find("b"));
    }

    [Fact]
    public void Find_finds_every_name_of_a_large_deserialized_tree()
    {
        var names = Enumerable.Range(0, 5000).Select(i => $"file-{i * 7919 % 5000}").ToList();
        var tree = RoundTrip(new Tree { Nodes = names.Select(n => new Node { Name = n }).ToList() });

        foreach (var name in names) Assert.Equal(name, tree.Find(name)?.Name);
        Assert.Null(tree.Find("file-5000"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{\"nodes\": 5}")]
    [InlineData("{\"nodes\": [{\"name\": 5}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\", \"subtree\": \"abc\"}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\", \"subtree\": 12}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\", \"content\": [\"zz\"]}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\", \"xattrs\": [{\"name\": \"a\", \"value\": \"***\"}]}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\", \"mode\": -1}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\"}]} trailing")]
    public void Invalid_json_is_reported_as_corrupt_data(string json)
    {
        var e = Record.Exception(() => Tree.Deserialize(Encoding.UTF8.GetBytes(json), "tree 1234abcd"));

        Assert.IsType<CorruptDataException>(e);
        Assert.Contains("tree 1234abcd", e.Message);
    }

    [Theory]
    [InlineData("{\"nodes\": null}")]
    [InlineData("{\"nodes\": [null]}")]
    [InlineData("{\"nodes\": [{\"name\": null}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\", \"type\": null}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\", \"content\": [null]}]}")]
    [InlineData("{\"nodes\": [{\"name\": \"x\", \"xattrs\": [null]}]}")]
    public void Json_nulls_where_a_tree_needs_values_are_reported_as_corrupt_data(string json)
    {
        // Well-formed JSON, but a tree whose walkers would trip over a null: rejected up front.
        var e = Record.Exception(() => Tree.Deserialize(Encoding.UTF8.GetBytes(json), "tree 1234abcd"));

        Assert.IsType<CorruptDataException>(e);
    }

    [Fact]
    public void Repeated_types_users_and_groups_are_read_as_one_shared_string()
    {
        var tree = new Tree { Nodes = [FileNode("a"), FileNode("b")] };

        var read = Tree.Deserialize(tree.Serialize(), "tree");

        Assert.Same(read.Nodes[0].Type, read.Nodes[1].Type);
        Assert.Same(read.Nodes[0].User, read.Nodes[1].User);
        Assert.Same(read.Nodes[0].Group, read.Nodes[1].Group);
        Assert.Equal("alice", read.Nodes[1].User);
    }

    [Fact]
    public void Long_user_names_and_json_escapes_read_as_written()
    {
        var id = RandomId();
        var hex = id.ToString();
        // Any JSON writer may escape characters; "\u0066" is "f" and "\u0030" is "0".
        var escapedHex = "\\u00" + ((int)hex[0]).ToString("x2") + hex[1..];
        var longUser = new string('u', 200);
        var json = $"{{\"nodes\": [{{\"name\": \"x\", \"type\": \"\\u0066ile\", \"user\": \"{longUser}\", \"group\": \"gr\\u006fup\", \"content\": [\"{escapedHex}\"]}}]}}";

        var node = Tree.Deserialize(Encoding.UTF8.GetBytes(json), "tree").Nodes[0];

        Assert.Equal(Node.FileType, node.Type);
        Assert.True(node.IsFile);
        Assert.Equal(longUser, node.User);
        Assert.Equal("group", node.Group);
        Assert.Equal([id], node.Content);
    }
}
