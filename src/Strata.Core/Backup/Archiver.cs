using System.Buffers;
using System.Diagnostics;
using Strata.Chunking;
using Strata.Errors;
using Strata.Filtering;
using Strata.Locking;
using Strata.Platform;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Backup;

/// <summary>
/// Backs up file trees into a repository as one full snapshot. Directories are walked
/// concurrently; file contents are chunked, hashed, compressed and sealed by up to
/// <see cref="BackupOptions.Workers"/> files at a time. Files whose size, mtime, ctime and inode
/// match the parent snapshot are not read again: their content list is reused.
/// </summary>
public sealed class Archiver
{
    private readonly Repository.Repository _repo;
    private readonly BackupOptions _options;
    private const int MaxPendingEntries = 256;
    private readonly SemaphoreSlim _fileSlots;
    private readonly SemaphoreSlim _pendingEntries = new(MaxPendingEntries);
    private readonly BufferPool _chunkBuffers;
    private readonly BufferPool _largeFileChunks;
    private const int MaxKeptTreeBuffer = 256 << 10;
    private readonly System.Collections.Concurrent.ConcurrentBag<ArrayBufferWriter<byte>> _treeBuffers = new();
    /// <summary>Files from this size on are saved by several threads (<see cref="ParallelChunkSaver"/>).</summary>
    private const long LargeFileSize = 16 << 20;
    private readonly NodeFactory _nodes = new();
    private readonly List<SourceError> _errors = new();
    private readonly Dictionary<(ulong Device, ulong Inode), Task<List<BlobId>?>> _hardLinks = new();
    private BlobWriter _writer = null!;
    private long _filesNew, _filesChanged, _filesUnmodified, _dirs, _bytesProcessed, _filesProcessed;

    public Archiver(Repository.Repository repo, BackupOptions options)
    {
        _repo = repo;
        _options = options;
        _fileSlots = new SemaphoreSlim(options.Workers);
        _chunkBuffers = new BufferPool(StreamChunker.BufferSize(repo.Chunker.Parameters), options.Workers);
        // Every chunk a large file's saver can hold at once (queued, being saved, being filled), for as
        // many large files as are read together: a smaller pool dropped buffers that the next chunk
        // allocated again, and each such drop is large-object garbage that costs a full collection.
        _largeFileChunks = new BufferPool(repo.Chunker.Parameters.MaxSize, options.Workers * ParallelChunkSaver.ChunksHeld(Environment.ProcessorCount));
    }

    public BackupProgress Progress { get; } = new();

    public async Task<BackupResult> RunAsync(CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var start = DateTimeOffset.Now;
        var sources = ResolveSources(_options.Paths);
        // The lease comes before the index is read: a prune that condemns packs after this moment
        // either sees the lease (and waits for this backup) or was seen by the index load.
        await using var lease = await Leases.AcquireAsync(_repo, Lease.Backup, ct).ConfigureAwait(false);
        // The parent is chosen before the index is read: a snapshot is stored after the index files
        // naming its blobs (FORMAT.md I2), so one that a concurrent backup just saved is fully indexed.
        var parent = await FindParentAsync(sources, ct).ConfigureAwait(false);
        await _repo.LoadIndexAsync(ct).ConfigureAwait(false);
        var scan = _options.EstimateTotals ? Task.Run(() => Scan(sources, ct), ct) : Task.CompletedTask;

        BlobId rootTree;
        await using (_writer = new BlobWriter(_repo))
        {
            var root = VirtualDirectory.Build(sources);
            var parentRoot = parent is null ? null : await TryLoadTreeAsync(parent.Tree, ct).ConfigureAwait(false);
            rootTree = await SaveVirtualAsync(root, parentRoot, ct).ConfigureAwait(false);
            await _writer.FlushAsync(ct).ConfigureAwait(false);
        }
        try { await scan.ConfigureAwait(false); } catch (OperationCanceledException) { }

        var summary = new SnapshotSummary
        {
            FilesNew = _filesNew,
            FilesChanged = _filesChanged,
            FilesUnmodified = _filesUnmodified,
            Directories = _dirs,
            DataBlobs = _writer.DataBlobsAdded,
            TreeBlobs = _writer.TreeBlobsAdded,
            DataAdded = _writer.BytesAdded,
            TotalFilesProcessed = _filesProcessed,
            TotalBytesProcessed = _bytesProcessed,
            BackupStart = start,
            BackupEnd = DateTimeOffset.Now,
        };
        var snapshot = new Snapshot
        {
            Time = start,
            Tree = rootTree,
            Paths = sources.ToList(),
            Hostname = _options.Host,
            Username = Environment.UserName,
            Uid = Posix.EffectiveUid,
            Gid = Posix.EffectiveGid,
            Tags = _options.Tags.Count > 0 ? _options.Tags.ToList() : null,
            Excludes = _options.ExcludePatterns.Count > 0 ? _options.ExcludePatterns.ToList() : null,
            Parent = parent?.Id,
            ProgramVersion = StrataVersion.Text,
            Summary = summary,
        };
        // Last write of the backup: only now does anything reference the new packs (docs/FORMAT.md, "Invariants").
        lease.EnsureValid();
        await _repo.SaveSnapshotAsync(snapshot, ct).ConfigureAwait(false);
        List<SourceError> errors;
        lock (_errors) errors = _errors.OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        return new BackupResult(snapshot, summary, errors, clock.Elapsed);
    }

    private static List<string> ResolveSources(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new UsageException("nothing to back up: give at least one path");
        var result = new List<string>();
        foreach (var p in paths)
        {
            var full = Path.GetFullPath(p);
            if (full.Length > 1) full = full.TrimEnd('/');
            if (!Posix.TryLStat(full, out _)) throw new UsageException($"{p} does not exist");
            result.Add(full);
        }
        // A path inside another one given is already covered by it.
        result = result.Distinct().OrderBy(p => p, StringComparer.Ordinal).ToList();
        return result.Where(p => !result.Any(o => o != p && (o == "/" || p.StartsWith(o + "/", StringComparison.Ordinal)))).ToList();
    }

    private async Task<Snapshot?> FindParentAsync(List<string> sources, CancellationToken ct)
    {
        if (_options.Force) return null;
        if (_options.Parent is not null)
        {
            var chosen = await _repo.FindSnapshotAsync(_options.Parent, null, ct).ConfigureAwait(false);
            Images.ImageSnapshots.RefuseImage(chosen, "strata image backup");
            return chosen;
        }
        var candidates = await _repo.ListSnapshotsAsync(ct).ConfigureAwait(false);
        var filter = new SnapshotFilter(_options.Host, sources);
        return candidates.LastOrDefault(s => !s.IsImage && filter.Matches(s));
    }

    private async Task<BlobId> SaveVirtualAsync(VirtualDirectory dir, Tree? parent, CancellationToken ct)
    {
        var tree = new Tree();
        var children = new List<Task<Node?>>();
        foreach (var (name, child) in dir.Children)
        {
            var path = dir.Path == "/" ? "/" + name : dir.Path + "/" + name;
            var parentNode = parent?.Find(name);
            if (child.IsSource)
            {
                children.Add(SaveEntryAsync(path, name, parentNode, ct));
                continue;
            }
            children.Add(SaveIntermediateAsync(child, path, name, parentNode, ct));
        }
        foreach (var node in await Task.WhenAll(children).ConfigureAwait(false))
            if (node is not null) tree.Nodes.Add(node);
        return SaveTree(tree);
    }

    private async Task<Node?> SaveIntermediateAsync(VirtualDirectory child, string path, string name, Node? parentNode, CancellationToken ct)
    {
        var st = Posix.LStat(path);
        var node = _nodes.Create(name, path, st);
        var parentTree = parentNode?.Subtree is { } id ? await TryLoadTreeAsync(id, ct).ConfigureAwait(false) : null;
        node.Subtree = await SaveVirtualAsync(child, parentTree, ct).ConfigureAwait(false);
        return node;
    }

    private Task<Node?> SaveEntryAsync(string path, string name, Node? parentNode, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        return TryStat(path, out var st) ? SaveEntryAsync(path, name, st, parentNode, ct) : Task.FromResult<Node?>(null);
    }

    private async Task<Node?> SaveEntryAsync(string path, string name, FileStatus st, Node? parentNode, CancellationToken ct)
    {
        Node node;
        try { node = _nodes.Create(name, path, st); }
        catch (PosixException e) { AddError(path, e.Message); return null; }

        switch (st.Kind)
        {
            case FileKind.Directory:
                return await (await WalkDirectoryAsync(path, node, parentNode, ct).ConfigureAwait(false)).ConfigureAwait(false);
            case FileKind.Regular:
                return await SaveFileAsync(path, node, st, parentNode, ct).ConfigureAwait(false) ? node : null;
            default:
                return node;
        }
    }

    private bool TryStat(string path, out FileStatus st)
    {
        try
        {
            if (Posix.TryLStat(path, out st)) return true;
            AddError(path, "vanished before it could be read");
        }
        catch (PosixException e)
        {
            AddError(path, e.Message);
            st = default;
        }
        return false;
    }

    /// <summary>
    /// Walks one directory: its subdirectories one after another (depth first), its other entries
    /// handed to the workers. Returns once the walk is done, with a task that completes when every
    /// entry is stored and the directory's own tree saved. Walking subdirectories in turn, while
    /// their contents finish in the background, keeps only the directories on the current path
    /// and those with files still in flight in memory, however large the tree.
    /// </summary>
    private async Task<Task<Node?>> WalkDirectoryAsync(string path, Node node, Node? parentNode, CancellationToken ct)
    {
        Interlocked.Increment(ref _dirs);
        var parentTree = parentNode is { IsDirectory: true, Subtree: { } id } ? await TryLoadTreeAsync(id, ct).ConfigureAwait(false) : null;
        var names = new List<string>();
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", new EnumerationOptions { IgnoreInaccessible = false, AttributesToSkip = 0, RecurseSubdirectories = false }))
                names.Add(Path.GetFileName(entry));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AddError(path, IoErrorText.Describe(e));
        }
        names.Sort(StringComparer.Ordinal);
        var children = new List<Task<Node?>>(names.Count);
        foreach (var name in names)
        {
            var childPath = path + "/" + name;
            if (_options.Excludes.Matches(childPath) || !TryStat(childPath, out var st)) continue;
            var parentChild = parentTree?.Find(name);
            if (st.Kind == FileKind.Directory)
            {
                Node child;
                try { child = _nodes.Create(name, childPath, st); }
                catch (PosixException e) { AddError(childPath, e.Message); continue; }
                children.Add(await WalkDirectoryAsync(childPath, child, parentChild, ct).ConfigureAwait(false));
                continue;
            }
            // Bounds how far the walk runs ahead of the workers: memory stays flat however many files there are.
            // Only non-directories take a permit, so a directory waiting for its children never holds one.
            await _pendingEntries.WaitAsync(ct).ConfigureAwait(false);
            children.Add(ReleasePermitWhenDone(SaveEntryAsync(childPath, name, st, parentChild, ct)));
        }
        return CompleteDirectoryAsync(node, children);
    }

    private async Task<Node?> CompleteDirectoryAsync(Node node, List<Task<Node?>> children)
    {
        var tree = new Tree();
        foreach (var child in await Task.WhenAll(children).ConfigureAwait(false))
            if (child is not null) tree.Nodes.Add(child);
        node.Subtree = SaveTree(tree);
        return node;
    }

    private async Task<Node?> ReleasePermitWhenDone(Task<Node?> entry)
    {
        try { return await entry.ConfigureAwait(false); }
        finally { _pendingEntries.Release(); }
    }

    private async Task<bool> SaveFileAsync(string path, Node node, FileStatus st, Node? parentNode, CancellationToken ct)
    {
        if (!_options.Force && parentNode is { IsFile: true, Content: { } previous }
            && parentNode.Size == st.Size && parentNode.MtimeNs == st.MtimeNs && parentNode.CtimeNs == st.CtimeNs
            && parentNode.Inode == st.Inode && previous.All(_repo.Index.Contains))
        {
            node.Content = previous;
            Interlocked.Increment(ref _filesUnmodified);
            Progress.AddBytes(st.Size);
            CountProcessed(st.Size);
            return true;
        }

        Task<List<BlobId>?> reading;
        if (st.LinkCount > 1)
        {
            // Other names of this inode share its content: read it once.
            lock (_hardLinks)
            {
                if (!_hardLinks.TryGetValue((st.Device, st.Inode), out reading!))
                {
                    reading = ReadContentAsync(path, st, ct);
                    _hardLinks[(st.Device, st.Inode)] = reading;
                }
            }
        }
        else
        {
            reading = ReadContentAsync(path, st, ct);
        }
        var content = await reading.ConfigureAwait(false);
        if (content is null) return false;
        node.Content = content;
        Interlocked.Increment(ref parentNode is null ? ref _filesNew : ref _filesChanged);
        CountProcessed(st.Size);
        return true;
    }

    private async Task<List<BlobId>?> ReadContentAsync(string path, FileStatus st, CancellationToken ct)
    {
        await _fileSlots.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => ReadContent(path, st, ct), ct).ConfigureAwait(false);
        }
        finally
        {
            _fileSlots.Release();
        }
    }

    private List<BlobId>? ReadContent(string path, FileStatus st, CancellationToken ct)
    {
        Progress.CurrentFile = path;
        var content = new List<BlobId>((int)Math.Min(1024, st.Size / _repo.Config.Chunker.AverageSize + 1));
        var buffer = _chunkBuffers.Rent(0);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
            using var stream = new HoleSkippingReadStream(handle, st.Size);
            using var chunker = new StreamChunker(_repo.Chunker, stream, buffer);
            if (st.Size >= LargeFileSize)
            {
                content = ReadLargeFile(chunker, ct);
            }
            else
            {
                while (chunker.TryReadChunk(out var chunk))
                {
                    ct.ThrowIfCancellationRequested();
                    content.Add(_writer.Save(BlobType.Data, chunk.Span, out _));
                    Progress.AddBytes(chunk.Length);
                }
            }
            if (stream.ShrankWhileReading) AddError(path, "shrank while it was being read: the end was stored as zeros");
            return content;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AddError(path, IoErrorText.Describe(e));
            return null;
        }
        finally
        {
            _chunkBuffers.Return(buffer);
        }
    }

    private List<BlobId> ReadLargeFile(StreamChunker chunker, CancellationToken ct)
    {
        var saver = new ParallelChunkSaver(_writer, _largeFileChunks, Environment.ProcessorCount);
        try
        {
            while (chunker.TryReadChunk(out var chunk))
            {
                ct.ThrowIfCancellationRequested();
                saver.Add(chunk.Span);
                Progress.AddBytes(chunk.Length);
            }
        }
        catch
        {
            saver.Abandon();
            throw;
        }
        return saver.Complete();
    }

    private void CountProcessed(long bytes)
    {
        Interlocked.Increment(ref _filesProcessed);
        Interlocked.Add(ref _bytesProcessed, bytes);
        Progress.FileDone();
    }

    private BlobId SaveTree(Tree tree)
    {
        // About 300 bytes of JSON per node: sized up front, a huge directory costs one buffer instead of a doubling series.
        int estimate = tree.Nodes.Count * 320;
        var buffer = estimate <= MaxKeptTreeBuffer && _treeBuffers.TryTake(out var reused) ? reused : new ArrayBufferWriter<byte>(Math.Max(16 << 10, estimate));
        try
        {
            tree.SerializeTo(buffer);
            return _writer.Save(BlobType.Tree, buffer.WrittenSpan, out _);
        }
        finally
        {
            // Buffers that grew for a huge directory are left to the GC rather than kept.
            buffer.ResetWrittenCount();
            if (buffer.Capacity <= MaxKeptTreeBuffer && _treeBuffers.Count < _options.Workers * 2) _treeBuffers.Add(buffer);
        }
    }

    private async Task<Tree?> TryLoadTreeAsync(BlobId id, CancellationToken ct)
    {
        // A damaged parent only costs re-reading files, never the backup.
        try { return await _repo.LoadTreeAsync(id, ct, cache: false).ConfigureAwait(false); }
        catch (StrataException) { return null; }
    }

    private void AddError(string path, string message)
    {
        Progress.Error();
        lock (_errors) _errors.Add(new SourceError(path, message));
    }

    private void Scan(List<string> sources, CancellationToken ct)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var source in sources)
        {
            if (File.Exists(source)) { Progress.Scanned(1, new FileInfo(source).Length); continue; }
            if (!Directory.Exists(source)) continue;
            long files = 0, bytes = 0;
            foreach (var f in new DirectoryInfo(source).EnumerateFiles("*", options))
            {
                ct.ThrowIfCancellationRequested();
                if (_options.Excludes.Matches(f.FullName)) continue;
                files++;
                bytes += f.Length;
                if (files == 1000) { Progress.Scanned(files, bytes); files = bytes = 0; }
            }
            Progress.Scanned(files, bytes);
        }
        Progress.FinishScan();
    }

    /// <summary>The directories above the given sources, down to each source (the snapshot tree mirrors absolute paths).</summary>
    private sealed class VirtualDirectory
    {
        public string Path { get; private init; } = "/";
        public bool IsSource { get; private set; }
        public SortedDictionary<string, VirtualDirectory> Children { get; } = new(StringComparer.Ordinal);

        public static VirtualDirectory Build(IEnumerable<string> sources)
        {
            var root = new VirtualDirectory();
            foreach (var source in sources)
            {
                if (source == "/") throw new UsageException("backing up '/' itself is not supported yet: list its top-level folders instead");
                var node = root;
                foreach (var part in source.Split('/', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!node.Children.TryGetValue(part, out var next))
                    {
                        next = new VirtualDirectory { Path = node.Path == "/" ? "/" + part : node.Path + "/" + part };
                        node.Children.Add(part, next);
                    }
                    node = next;
                }
                node.IsSource = true;
            }
            return root;
        }
    }
}
