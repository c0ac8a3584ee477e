using System.Collections.Concurrent;
using Strata.Platform;
using Strata.Snapshots;

namespace Strata.Backup;

/// <summary>
/// Turns what lstat and friends say about a path into a tree node (content and subtree left to the caller).
/// The access time is not recorded (as borg does by default): reading a file for the backup changes
/// it, so recording it would make every directory's tree differ from the last backup's.
/// </summary>
internal sealed class NodeFactory
{
    private readonly ConcurrentDictionary<uint, string?> _users = new();
    private readonly ConcurrentDictionary<uint, string?> _groups = new();

    public Node Create(string name, string path, in FileStatus st)
    {
        var node = new Node
        {
            Name = name,
            Type = Node.TypeOf(st.Kind),
            Mode = st.Permissions,
            Uid = st.Uid,
            Gid = st.Gid,
            User = _users.GetOrAdd(st.Uid, Posix.UserName),
            Group = _groups.GetOrAdd(st.Gid, Posix.GroupName),
            MtimeNs = st.MtimeNs,
            CtimeNs = st.CtimeNs,
            Inode = st.Inode,
            DeviceId = st.Device,
            Links = st.LinkCount,
        };
        switch (st.Kind)
        {
            case FileKind.Regular: node.Size = st.Size; break;
            case FileKind.Symlink: node.LinkTarget = Posix.ReadLink(path); break;
            case FileKind.CharDevice or FileKind.BlockDevice: node.RDev = st.RDev; break;
        }
        var xattrs = Posix.ListXattrs(path);
        if (xattrs.Count > 0)
            node.Xattrs = xattrs.Select(x => new ExtendedAttribute { Name = x.Key, Value = x.Value }).ToList();
        return node;
    }
}
