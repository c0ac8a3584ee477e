using System.Buffers.Binary;
using System.Text;

namespace Strata.FileSystems.Ext4;

/// <summary>
/// Extended attribute entries, in the inode after its extra fields and in one separate block
/// (i_file_acl). Each entry: name length, name index (the prefix: "user.", "trusted.", …), value
/// offset, value inode (ea_inode feature: a large value lives in its own inode), value size, hash,
/// name. Offsets and sizes are checked against the area; the area ends with four zero bytes.
/// </summary>
internal static class Ext4Xattrs
{
    public const uint Magic = 0xEA020000;
    public const int BlockHeaderSize = 32;
    public const int MaxValueSize = 65536;

    /// <summary>One entry; <see cref="ValueOffset"/> counts from the area's value origin.</summary>
    public readonly record struct Entry(byte NameIndex, string Name, int ValueOffset, uint ValueInode, int ValueSize)
    {
        /// <summary>The full name with its namespace prefix, or null for an index this reader does not know.</summary>
        public string? FullName => NameIndex switch
        {
            1 => "user." + Name,
            2 => "system.posix_acl_access",
            3 => "system.posix_acl_default",
            4 => "trusted." + Name,
            6 => "security." + Name,
            7 => "system." + Name,
            8 => "system.richacl",
            _ => null,
        };

        /// <summary>"system.data" holds the rest of an inline file or directory, not a user-visible attribute.</summary>
        public bool IsInlineData => NameIndex == 7 && Name == "data";
    }

    /// <summary>
    /// The entries of an area whose entries begin at <paramref name="entriesStart"/>; values are at
    /// <paramref name="valueOrigin"/> + offset and must lie inside the area.
    /// </summary>
    public static List<Entry> ParseEntries(ReadOnlySpan<byte> area, int entriesStart, int valueOrigin, string where)
    {
        var entries = new List<Entry>();
        int offset = entriesStart;
        while (true)
        {
            if (offset + 4 > area.Length) throw new CorruptFileSystemException($"{where}: extended attributes run past their area (no end marker)");
            if (BinaryPrimitives.ReadUInt32LittleEndian(area[offset..]) == 0) return entries;
            if (offset + 16 > area.Length) throw new CorruptFileSystemException($"{where}: extended attribute entry at byte {offset} runs past its area");
            var e = area[offset..];
            int nameLength = e[0];
            byte index = e[1];
            int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(e[2..]);
            uint valueInode = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            uint valueSize = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
            int entrySize = (16 + nameLength + 3) & ~3;
            if (offset + entrySize > area.Length) // POSIX ACLs have empty names: the index alone names them
                throw new CorruptFileSystemException($"{where}: extended attribute entry at byte {offset} has a name of {nameLength} bytes that does not fit");
            if (valueSize > MaxValueSize)
                throw new CorruptFileSystemException($"{where}: extended attribute value of {valueSize} bytes (at most {MaxValueSize} exist)");
            if (valueInode == 0 && valueOrigin + valueOffset + (long)valueSize > area.Length)
                throw new CorruptFileSystemException($"{where}: extended attribute value (byte {valueOrigin + valueOffset}, {valueSize} bytes) lies outside its area");
            string name = Encoding.UTF8.GetString(e.Slice(16, nameLength));
            entries.Add(new Entry(index, name, valueOffset, valueInode, (int)valueSize));
            offset += entrySize;
            if (entries.Count > 65536) throw new CorruptFileSystemException($"{where}: more extended attributes than fit any area");
        }
    }

    /// <summary>
    /// ext4 stores POSIX ACLs in its own compact form (version 1; short entries without an id);
    /// tools and setxattr(2) speak the generic form (version 2, every entry 8 bytes).
    /// </summary>
    public static byte[] AclToGeneric(ReadOnlySpan<byte> value, string where)
    {
        const uint Ext4AclVersion = 1, GenericVersion = 2, UndefinedId = 0xFFFFFFFF;
        if (value.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(value) != Ext4AclVersion)
            throw new CorruptFileSystemException($"{where}: POSIX ACL without the ext4 ACL header");
        var output = new List<byte>(4 + value.Length * 2);
        Span<byte> entry = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, GenericVersion);
        output.AddRange(entry[..4].ToArray());
        int offset = 4;
        while (offset < value.Length)
        {
            if (value.Length - offset < 4) throw new CorruptFileSystemException($"{where}: truncated POSIX ACL entry");
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(value[offset..]);
            ushort perm = BinaryPrimitives.ReadUInt16LittleEndian(value[(offset + 2)..]);
            uint id = UndefinedId;
            if (tag is 0x02 or 0x08) // ACL_USER, ACL_GROUP carry an id
            {
                if (value.Length - offset < 8) throw new CorruptFileSystemException($"{where}: truncated POSIX ACL entry");
                id = BinaryPrimitives.ReadUInt32LittleEndian(value[(offset + 4)..]);
                offset += 8;
            }
            else offset += 4;
            BinaryPrimitives.WriteUInt16LittleEndian(entry, tag);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[2..], perm);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], id);
            output.AddRange(entry.ToArray());
        }
        return output.ToArray();
    }
}
