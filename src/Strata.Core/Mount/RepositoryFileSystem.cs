using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Strata.Fuse;
using Strata.Images;
using Strata.Platform;
using Strata.Repository;
using Strata.Snapshots;
using Strata.Storage;

namespace Strata.Mount;

/// <summary>
/// The repository as a read-only file system (see <see cref="SnapshotCatalog"/> for the top folders).
/// Inside a snapshot, every path is resolved by walking its trees from the root; trees are loaded
/// only when visited and kept in a bounded cache, so memory does not grow with the size of the
/// repository. Reads fetch just the chunks they cover, through a bounded cache of decrypted chunks.
/// </summary>
internal sealed class RepositoryFileSystem : FuseFileSystem
{
    private const uint DirectoryBits = 0x4000, RegularBits = 0x8000, SymlinkBits = 0xA000,
        FifoBits = 0x1000, CharDeviceBits = 0x2000, BlockDeviceBits = 0x6000, SocketBits = 0xC000;
    private const uint VirtualDirectoryMode = DirectoryBits | 0x16D; // 0555

    private readonly Repository.Repository _repo;
    private readonly MountOptions _options;
    private readonly Action<string> _warn;
    private readonly LruCache<byte[]> _blobs;
    private readonly LruCache<Tree> _trees;
    private readonly LruCache<MountedImage> _images;
    private readonly LruCache<BlobId[]> _segments;
    private readonly ConcurrentDictionary<ulong, ReadAt> _open = new();
    private readonly object _refreshLock = new();
    private volatile SnapshotCatalog _catalog;
    private long _nextHandle;

    public RepositoryFileSystem(Repository.Repository repo, IEnumerable<Snapshot> snapshots, MountOptions options, Action<string> warn)
    {
        _repo = repo;
        _options = options;
        _warn = warn;
        _catalog = SnapshotCatalog.Of(snapshots);
        _blobs = new LruCache<byte[]>(options.BlobCacheBytes, id =>
        {
            var data = _repo.ReadBlobAsync(id).GetAwaiter().GetResult();
            return (data, data.Length);
        });
        _trees = new LruCache<Tree>(options.TreeCacheBytes, id =>
        {
            var data = _repo.ReadBlobAsync(id).GetAwaiter().GetResult();
            // Parsed nodes take several times their JSON size in memory.
            return (Tree.Deserialize(data, $"tree {id.ToShortString()}"), 4L * data.Length + 256);
        });

        _images = new LruCache<MountedImage>(16L << 20, id =>
        {
            var image = new MountedImage(BlockMapStore.LoadRootAsync(_repo, id).GetAwaiter().GetResult());
            return (image, image.MemorySize);
        });
        _segments = new LruCache<BlobId[]>(options.TreeCacheBytes, id =>
        {
            var data = _repo.ReadBlobAsync(id).GetAwaiter().GetResult();
            var what = $"block-map segment {id.ToShortString()}";
            if (data.Length < 9) throw new Errors.CorruptDataException($"{what}: not a block-map segment");
            var blocks = new BlobId[Math.Max(0, BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(5)))];
            BlockMapFormat.DecodeSegment(data, blocks, what);
            return (blocks, 64L + blocks.Length * (long)BlobId.Size);
        });
    }

    private delegate int ReadAt(Span<byte> destination, long offset);

    public LruCache<byte[]> Blobs => _blobs;
    public SnapshotCatalog Catalog => _catalog;

    // ---- resolving paths -------------------------------------------------------------------

    private enum EntryKind { VirtualDirectory, VirtualLink, Node, Image }

    private readonly record struct Entry(EntryKind Kind, ulong Inode, long TimeNs, Node? Node = null, string? LinkTarget = null, ulong SnapshotKey = 0, Snapshot? Snapshot = null);

    /// <summary>The one file in an image snapshot's folder: the image's name (made safe as a file name) + ".img".</summary>
    private static string ImageFileName(Snapshot snapshot)
    {
        var name = snapshot.Image?.Name is { Length: > 0 } n ? n.Replace('/', '_').Replace('\0', '_') : "image";
        return name is "." or ".." ? "_" + name + ".img" : name + ".img";
    }

    private static readonly string[] TopFolders = ["snapshots", "hosts", "tags"];

    private Entry? Resolve(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var catalog = _catalog;
        long time = catalog.Newest is { } newest ? ToNs(newest.Time) : ToNs(catalog.LoadedAt);
        if (parts.Length == 0) return Virtual(path, time);
        switch (parts[0])
        {
            case "snapshots":
                if (parts.Length == 1) return Virtual(path, time);
                if (parts[1] == SnapshotCatalog.Latest)
                    return parts.Length == 2 && catalog.Newest is { } latest ? Link(path, catalog.NameOf[latest.Id], time) : null;
                if (!catalog.ByName.TryGetValue(parts[1], out var snapshot)) return null;
                if (snapshot.Kind is not null) return ResolveInImage(snapshot, path, parts);
                return ResolveInSnapshot(snapshot, parts);
            case "hosts":
            case "tags":
                var folders = parts[0] == "hosts" ? catalog.Hosts : catalog.Tags;
                if (parts.Length == 1) return Virtual(path, time);
                if (!folders.TryGetValue(parts[1], out var folder)) return null;
                if (parts.Length == 2) return Virtual(path, ToNs(folder.ByTime[folder.LatestName].Time));
                if (parts.Length > 3) return null;
                if (parts[2] == SnapshotCatalog.Latest) return Link(path, folder.LatestName, ToNs(folder.ByTime[folder.LatestName].Time));
                return folder.ByTime.TryGetValue(parts[2], out var s) ? Link(path, "../../snapshots/" + catalog.NameOf[s.Id], ToNs(s.Time)) : null;
            default:
                return null;
        }
    }

    private Entry? ResolveInSnapshot(Snapshot snapshot, string[] parts)
    {
        var node = new Node { Name = parts[1], Type = Node.DirType, Mode = 0x1ED, Subtree = snapshot.Tree, MtimeNs = ToNs(snapshot.Time), CtimeNs = ToNs(snapshot.Time), Links = 2, Uid = snapshot.Uid, Gid = snapshot.Gid };
        for (int i = 2; i < parts.Length; i++)
        {
            if (node is not { IsDirectory: true, Subtree: { } subtree }) return null;
            node = _trees.Get(subtree).Find(parts[i]);
            if (node is null) return null;
        }
        ulong key = SnapshotKey(snapshot.Id);
        var inode = parts.Length == 2 ? Fix(Mix(key ^ PathHash("/"))) : InodeOf(key, node, "/" + string.Join('/', parts));
        return new Entry(EntryKind.Node, inode, node.MtimeNs, node, SnapshotKey: key);
    }

    /// <summary>An image snapshot is a folder holding its image; a snapshot of a kind this version does not know is an empty folder.</summary>
    private static Entry? ResolveInImage(Snapshot snapshot, string path, string[] parts)
    {
        long time = ToNs(snapshot.Time);
        if (parts.Length == 2) return Virtual(path, time);
        if (parts.Length == 3 && snapshot.IsImage && snapshot.Image is not null && parts[2] == ImageFileName(snapshot))
            return new Entry(EntryKind.Image, Fix(Mix(PathHash(path))), time, Snapshot: snapshot);
        return null;
    }

    /// <summary>
    /// Stable for the life of the mount and shared by the hard links of one file (same device and
    /// inode at backup time); distinct across snapshots, so tools that copy the mount never link
    /// files of different snapshots. Glibc hides directory entries with inode 0, so never 0.
    /// </summary>
    private static ulong InodeOf(ulong snapshotKey, Node node, string path) =>
        Fix(node.Inode == 0 ? Mix(snapshotKey ^ PathHash(path)) : Mix(snapshotKey ^ Mix(node.DeviceId ^ Mix(node.Inode))));

    private static Entry Virtual(string path, long timeNs) => new(EntryKind.VirtualDirectory, Fix(Mix(PathHash(path))), timeNs);

    private static Entry Link(string path, string target, long timeNs) => new(EntryKind.VirtualLink, Fix(Mix(PathHash(path))), timeNs, LinkTarget: target);

    /// <summary>The names in a virtual folder, or null when <paramref name="parts"/> is not one.</summary>
    private IEnumerable<(string Name, uint Mode)>? VirtualChildren(string[] parts)
    {
        var catalog = _catalog;
        if (parts.Length == 0) return TopFolders.Select(f => (f, VirtualDirectoryMode));
        if (parts.Length == 1 && parts[0] == "snapshots")
            return catalog.ByName.Keys.Order(StringComparer.Ordinal).Select(n => (n, VirtualDirectoryMode))
                .Concat(catalog.Newest is null ? [] : [(SnapshotCatalog.Latest, SymlinkBits | 0x1FF)]);
        if (parts.Length == 2 && parts[0] == "snapshots" && catalog.ByName.TryGetValue(parts[1], out var snapshot) && snapshot.Kind is not null)
            return snapshot.IsImage && snapshot.Image is not null ? [(ImageFileName(snapshot), RegularBits | 0x100)] : [];
        if (parts[0] is "hosts" or "tags")
        {
            var folders = parts[0] == "hosts" ? catalog.Hosts : catalog.Tags;
            if (parts.Length == 1) return folders.Keys.Order(StringComparer.Ordinal).Select(n => (n, VirtualDirectoryMode));
            if (parts.Length == 2 && folders.TryGetValue(parts[1], out var folder))
                return folder.Names.Append(SnapshotCatalog.Latest).Select(n => (n, SymlinkBits | 0x1FF));
        }
        return null;
    }

    // ---- operations ------------------------------------------------------------------------

    public override int GetAttr(string path, ref NativeStat stat)
    {
        if (Resolve(path) is not { } entry) return -Errno.ENOENT;
        stat.Ino = entry.Inode;
        stat.BlockSize = 4096;
        switch (entry.Kind)
        {
            case EntryKind.VirtualDirectory:
                stat.Mode = VirtualDirectoryMode;
                stat.NLink = 2;
                SetTimes(ref stat, entry.TimeNs, entry.TimeNs, entry.TimeNs);
                return 0;
            case EntryKind.VirtualLink:
                stat.Mode = SymlinkBits | 0x1FF;
                stat.NLink = 1;
                stat.Size = Encoding.UTF8.GetByteCount(entry.LinkTarget!);
                SetTimes(ref stat, entry.TimeNs, entry.TimeNs, entry.TimeNs);
                return 0;
            case EntryKind.Image:
                // Owner-only: a disk holds every file of its machine, whatever their own modes.
                stat.Mode = RegularBits | 0x100; // 0400
                stat.NLink = 1;
                stat.Uid = entry.Snapshot!.Uid;
                stat.Gid = entry.Snapshot.Gid;
                stat.Size = entry.Snapshot.Image!.Size;
                stat.Blocks = (stat.Size + 511) / 512;
                SetTimes(ref stat, entry.TimeNs, entry.TimeNs, entry.TimeNs);
                return 0;
        }
        var node = entry.Node!;
        stat.Mode = TypeBits(node) | (node.Mode & 0xFFF);
        stat.NLink = Math.Max(1, node.Links);
        stat.Uid = node.Uid;
        stat.Gid = node.Gid;
        stat.RDev = node.RDev;
        stat.Size = node.IsSymlink ? Encoding.UTF8.GetByteCount(node.LinkTarget ?? "") : node.IsDirectory ? 4096 : node.Size;
        stat.Blocks = (stat.Size + 511) / 512;
        SetTimes(ref stat, node.AtimeNs != 0 ? node.AtimeNs : node.MtimeNs, node.MtimeNs, node.CtimeNs != 0 ? node.CtimeNs : node.MtimeNs);
        return 0;
    }

    public override int ReadLink(string path, Span<byte> buffer)
    {
        if (Resolve(path) is not { } entry) return -Errno.ENOENT;
        var target = entry.Kind == EntryKind.VirtualLink ? entry.LinkTarget : entry.Node is { IsSymlink: true } n ? n.LinkTarget ?? "" : null;
        if (target is null) return -Errno.EINVAL;
        if (buffer.IsEmpty) return -Errno.EINVAL;
        var bytes = Encoding.UTF8.GetBytes(target);
        int n2 = Math.Min(bytes.Length, buffer.Length - 1);
        bytes.AsSpan(0, n2).CopyTo(buffer);
        buffer[n2] = 0;
        return 0;
    }

    public override int Open(string path, int flags, out ulong handle)
    {
        handle = 0;
        if ((flags & 3) != 0) return -Errno.EROFS; // O_WRONLY or O_RDWR
        if (Resolve(path) is not { } entry) return -Errno.ENOENT;
        ReadAt reader;
        if (entry.Kind == EntryKind.Image)
        {
            var image = _images.Get(entry.Snapshot!.Tree);
            reader = (destination, offset) => image.Read(destination, offset, _segments.Get, _blobs.Get);
        }
        else if (entry.Kind == EntryKind.Node && entry.Node is { IsFile: true } node)
        {
            var file = new FileContentMap(node.Content ?? [], id => _repo.Locate(id).RawLength);
            long expected = 0;
            reader = (destination, offset) =>
            {
                int n = file.Read(destination, offset, _blobs.Get);
                // Sequential reading (the kernel's read-ahead may deliver requests a little out of order):
                // fetch the next chunks in the background so decryption overlaps the reader's work.
                long previous = Interlocked.Exchange(ref expected, offset + n);
                if (n > 0 && Math.Abs(offset - previous) <= SequentialSlack) Prefetch(file, offset + n);
                return n;
            };
        }
        else return entry.Kind == EntryKind.VirtualDirectory || entry.Node is { IsDirectory: true } ? -Errno.EISDIR : -Errno.EINVAL;
        handle = (ulong)Interlocked.Increment(ref _nextHandle);
        _open[handle] = reader;
        return 0;
    }

    public override int Read(ulong handle, Span<byte> buffer, long offset)
    {
        if (!_open.TryGetValue(handle, out var reader)) return -Errno.EBADF;
        return reader(buffer, offset);
    }

    private const long SequentialSlack = 1 << 20;
    private const int PrefetchChunks = 2;

    private void Prefetch(FileContentMap file, long offset)
    {
        for (int ahead = 0; ahead < PrefetchChunks; ahead++)
        {
            if (file.ChunkAt(offset, ahead) is not { } id || _blobs.Contains(id)) continue;
            ThreadPool.UnsafeQueueUserWorkItem(static state =>
            {
                // A failed prefetch is not an error: the read that needs the chunk fetches it again and reports.
                try { state.Cache.Get(state.Id); }
                catch (Exception) { }
            }, (Cache: _blobs, Id: id), preferLocal: false);
        }
    }

    public override void Release(ulong handle) => _open.TryRemove(handle, out _);

    public override int ReadDirectory(string path, DirectoryFiller filler)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length <= 2 && parts is [] or ["snapshots"] or ["hosts", ..] or ["tags", ..]) RefreshIfStale();
        if (VirtualChildren(parts) is { } names)
        {
            var prefix = path.TrimEnd('/');
            filler.Add(".", VirtualDirectoryMode, Fix(Mix(PathHash(path))));
            filler.Add("..", VirtualDirectoryMode, 1);
            foreach (var (name, mode) in names)
                if (!filler.Add(name, mode, Fix(Mix(PathHash(prefix + "/" + name))))) break;
            return 0;
        }
        if (Resolve(path) is not { } entry) return -Errno.ENOENT;
        if (entry.Node is not { IsDirectory: true } node) return -Errno.ENOTDIR;
        filler.Add(".", DirectoryBits, entry.Inode);
        filler.Add("..", DirectoryBits, 1);
        if (node.Subtree is not { } subtree) return 0;
        var within = "/" + string.Join('/', parts);
        foreach (var child in _trees.Get(subtree).Nodes)
            if (!filler.Add(child.Name, TypeBits(child), InodeOf(entry.SnapshotKey, child, within + "/" + child.Name))) break;
        return 0;
    }

    public override int GetXattr(string path, string name, Span<byte> value)
    {
        if (Resolve(path) is not { } entry) return -Errno.ENOENT;
        var attribute = entry.Node?.Xattrs?.FirstOrDefault(x => x.Name == name);
        if (attribute is null) return -Errno.ENODATA;
        if (value.IsEmpty) return attribute.Value.Length;
        if (value.Length < attribute.Value.Length) return -Errno.ERANGE;
        attribute.Value.CopyTo(value);
        return attribute.Value.Length;
    }

    public override int ListXattr(string path, Span<byte> list)
    {
        if (Resolve(path) is not { } entry) return -Errno.ENOENT;
        var names = entry.Node?.Xattrs ?? [];
        int needed = names.Sum(x => Encoding.UTF8.GetByteCount(x.Name) + 1);
        if (list.IsEmpty) return needed;
        if (list.Length < needed) return -Errno.ERANGE;
        int at = 0;
        foreach (var x in names)
        {
            at += Encoding.UTF8.GetBytes(x.Name, list[at..]);
            list[at++] = 0;
        }
        return needed;
    }

    public override void ReportFailure(string operation, string path, Exception error) =>
        _warn($"{operation} {path} failed: {(error is Errors.StrataException ? error.Message : error.ToString())}");

    // ---- snapshot list refresh -------------------------------------------------------------

    /// <summary>Lists the snapshots again when the list is older than the refresh interval, loading only new ones.</summary>
    private void RefreshIfStale()
    {
        if (DateTime.UtcNow - _catalog.LoadedAt < _options.SnapshotRefreshInterval) return;
        if (!Monitor.TryEnter(_refreshLock)) return; // another thread is at it; this listing uses the current list
        try
        {
            var known = _catalog.Snapshots.ToDictionary(s => s.Id);
            var current = new List<Snapshot>();
            foreach (var id in ListSnapshotIds())
            {
                if (known.TryGetValue(id, out var snapshot)) { current.Add(snapshot); continue; }
                try { current.Add(_repo.LoadSnapshotAsync(id).GetAwaiter().GetResult()); }
                catch (ObjectNotFoundException) { } // forgotten between listing and reading
            }
            _catalog = SnapshotCatalog.Of(current);
        }
        finally
        {
            Monitor.Exit(_refreshLock);
        }
    }

    private List<BlobId> ListSnapshotIds()
    {
        var ids = new List<BlobId>();
        var listing = _repo.Backend.ListAsync(Layout.SnapshotsFolder).GetAsyncEnumerator();
        try
        {
            while (listing.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                if (Layout.IdOf(listing.Current.Name) is { } id) ids.Add(id);
        }
        finally
        {
            listing.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return ids;
    }

    // ---- helpers ---------------------------------------------------------------------------

    private static uint TypeBits(Node node) => node.Type switch
    {
        Node.DirType => DirectoryBits,
        Node.SymlinkType => SymlinkBits,
        Node.FifoType => FifoBits,
        Node.CharDeviceType => CharDeviceBits,
        Node.BlockDeviceType => BlockDeviceBits,
        Node.SocketType => SocketBits,
        _ => RegularBits,
    };

    private static void SetTimes(ref NativeStat stat, long atimeNs, long mtimeNs, long ctimeNs)
    {
        var a = Timespec.FromNs(atimeNs);
        var m = Timespec.FromNs(mtimeNs);
        var c = Timespec.FromNs(ctimeNs);
        (stat.AtimeSec, stat.AtimeNsec, stat.MtimeSec, stat.MtimeNsec, stat.CtimeSec, stat.CtimeNsec) = (a.Seconds, a.Nanoseconds, m.Seconds, m.Nanoseconds, c.Seconds, c.Nanoseconds);
    }

    private static long ToNs(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
    private static long ToNs(DateTime utc) => (utc.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private static ulong SnapshotKey(BlobId id)
    {
        Span<byte> bytes = stackalloc byte[BlobId.Size];
        id.WriteTo(bytes);
        return BitConverter.ToUInt64(bytes);
    }

    /// <summary>FNV-1a over the path's UTF-16 code units.</summary>
    private static ulong PathHash(string path)
    {
        ulong hash = 0xCBF29CE484222325;
        foreach (char c in path) hash = (hash ^ c) * 0x100000001B3;
        return hash;
    }

    /// <summary>SplitMix64's finalizer: spreads every input bit over the result.</summary>
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }

    /// <summary>Inode numbers 0 and 1 mean "none" and "the root" to the kernel and libfuse.</summary>
    private static ulong Fix(ulong inode) => inode < 2 ? inode + 2 : inode;
}
