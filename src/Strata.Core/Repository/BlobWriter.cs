using System.Buffers;
using System.Collections.Concurrent;
using Strata.Errors;
using Strata.Platform;
using Strata.Storage;

namespace Strata.Repository;

/// <summary>
/// Stores new blobs for one writing session (a backup, a copy): deduplicates against the index
/// and against blobs claimed earlier in the session, compresses and seals them on the calling
/// thread, and appends them to a pack staged in a local file; full packs are stored in the background.
/// Write order (docs/FORMAT.md, "Invariants"): a pack is complete in storage before an index
/// names it, and <see cref="FlushAsync"/> writes the index before the caller saves any snapshot
/// that references the blobs. A session that dies leaves only unreferenced packs behind.
/// </summary>
public sealed class BlobWriter : IAsyncDisposable
{
    private const int MaxEntriesPerPack = 50_000;
    private const int MaxUploadsInFlight = 4;
    private const int SmallBlobLimit = 64 << 10;

    private readonly Repository _repo;
    private readonly ConcurrentDictionary<BlobId, byte> _claimed = new();
    private readonly ConcurrentDictionary<int, BlobId> _zeroIds = new();
    private readonly object _packLock = new();
    private readonly object _indexLock = new();
    private readonly SemaphoreSlim _uploadSlots = new(MaxUploadsInFlight);
    private readonly List<Task> _uploads = new();
    private readonly IndexFile _unindexed = new();
    private readonly BufferPool _sealBuffers;
    // One pack in the making per blob type: trees (and block maps) go into packs of their own,
    // so losing a data pack never takes directory listings with it, and metadata packs stay small.
    private readonly PackStaging?[] _current = new PackStaging?[2];
    private Exception? _failure;
    private long _bytesAdded, _blobsAdded, _dataBlobs, _treeBlobs;

    public BlobWriter(Repository repo)
    {
        _repo = repo;
        // Producers block in StartUpload while the uploads that release them need pool threads.
        ThreadPoolHeadroom.Ensure(MaxUploadsInFlight + 4 * Environment.ProcessorCount + 4);
        _sealBuffers = new BufferPool(Envelope.MaxSealedLength(repo.Config.Chunker.MaxSize), maxKept: Environment.ProcessorCount * 2);
    }

    /// <summary>
    /// How many stored packs an index file waits for. Fewer means more (smaller) index files, but a
    /// session killed midway loses fewer unindexed packs: copies index every pack to be resumable.
    /// </summary>
    public int IndexEveryPacks { get; init; } = 64;

    /// <summary>Sealed bytes written into packs by this session (what the repository grew by, headers aside).</summary>
    public long BytesAdded => Interlocked.Read(ref _bytesAdded);
    public long BlobsAdded => Interlocked.Read(ref _blobsAdded);
    public long DataBlobsAdded => Interlocked.Read(ref _dataBlobs);
    public long TreeBlobsAdded => Interlocked.Read(ref _treeBlobs);

    /// <summary>Whether a blob is stored where a writer may rely on it (indexed, not condemned) or was stored by this session.</summary>
    public bool Contains(BlobId id) => _repo.Index.Contains(id) || _claimed.ContainsKey(id);

    /// <summary>Stores <paramref name="plaintext"/> unless the repository already has it; returns its id.</summary>
    public BlobId Save(BlobType type, ReadOnlySpan<byte> plaintext, out bool added)
    {
        ThrowIfFailed();
        var id = ComputeId(plaintext);
        if (_repo.Index.Contains(id) || !_claimed.TryAdd(id, 0))
        {
            added = false;
            return id;
        }

        // Chunk-sized blobs use the few big buffers of this session; small ones (most trees, small
        // files) the shared pool, so many directories finishing at once do not each take 2 MiB.
        int needed = Envelope.MaxSealedLength(plaintext.Length);
        bool small = needed <= SmallBlobLimit;
        var scratch = small ? ArrayPool<byte>.Shared.Rent(needed) : _sealBuffers.Rent(needed);
        try
        {
            int length = Envelope.Seal(_repo.Key.Cipher, plaintext, _repo.Config.CompressionLevel, scratch);
            Append(type, id, scratch.AsSpan(0, length), (uint)plaintext.Length);
        }
        catch
        {
            // Not stored after all: a later attempt (or another writer) must be able to store it.
            _claimed.TryRemove(id, out _);
            throw;
        }
        finally
        {
            if (small) ArrayPool<byte>.Shared.Return(scratch);
            else _sealBuffers.Return(scratch);
        }
        Interlocked.Increment(ref _blobsAdded);
        Interlocked.Increment(ref type == BlobType.Tree ? ref _treeBlobs : ref _dataBlobs);
        added = true;
        return id;
    }

    /// <summary>
    /// Stores a blob that is already sealed (repacking, copying between repositories with the same
    /// keys). The index is not consulted: the caller moves a blob that the index lists in a pack about to go.
    /// </summary>
    public void StoreSealed(BlobType type, BlobId id, ReadOnlySpan<byte> sealedBlob, uint rawLength)
    {
        ThrowIfFailed();
        if (!_claimed.TryAdd(id, 0)) return;
        Append(type, id, sealedBlob, rawLength);
        Interlocked.Increment(ref _blobsAdded);
        Interlocked.Increment(ref type == BlobType.Tree ? ref _treeBlobs : ref _dataBlobs);
    }

    /// <summary>
    /// Runs of zeros (holes of sparse files, empty regions of disk images) come as many identical
    /// all-zero chunks: their id is computed once per length instead of hashing megabytes of zeros.
    /// The zero test stops at the first non-zero byte, so other data pays nearly nothing for it.
    /// </summary>
    private BlobId ComputeId(ReadOnlySpan<byte> plaintext)
    {
        if (plaintext.Length < 4096 || plaintext.IndexOfAnyExcept((byte)0) >= 0) return _repo.Key.ComputeBlobId(plaintext);
        return _zeroIds.GetOrAdd(plaintext.Length, static (length, key) => key.ComputeBlobId(new byte[length]), _repo.Key);
    }

    /// <summary>Stores the last partial pack, waits for every store and writes the index for them.</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        var last = new List<PackStaging>(2);
        lock (_packLock)
            for (int t = 0; t < _current.Length; t++)
            {
                if (_current[t] is { } pack) last.Add(pack);
                _current[t] = null;
            }
        foreach (var pack in last) StartUpload(pack);
        await WaitForUploadsAsync().ConfigureAwait(false);
        ThrowIfFailed();
        await WriteIndexAsync(force: true, ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await WaitForUploadsAsync().ConfigureAwait(false);
        lock (_packLock)
        {
            for (int t = 0; t < _current.Length; t++)
            {
                _current[t]?.Dispose();
                _current[t] = null;
            }
        }
    }

    private void Append(BlobType type, BlobId id, ReadOnlySpan<byte> sealedBlob, uint rawLength)
    {
        PackStaging? full = null;
        lock (_packLock)
        {
            try
            {
                ref var current = ref _current[(int)type];
                current ??= new PackStaging(_repo.Backend.StagingDirectory);
                current.Append(type, id, sealedBlob, rawLength);
                if (current.Length >= _repo.Config.PackSize || current.Entries.Count >= MaxEntriesPerPack)
                    (full, current) = (current, null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A failure of the repository's disk, never to be mistaken for an unreadable source file.
                throw new StorageException($"cannot write a pack in {_repo.Backend.StagingDirectory}: {IoErrorText.Describe(e)}", e);
            }
        }
        Interlocked.Add(ref _bytesAdded, sealedBlob.Length);
        if (full is not null) StartUpload(full);
    }

    private void StartUpload(PackStaging pack)
    {
        // Back-pressure: the producing worker waits here when stores fall behind.
        _uploadSlots.Wait();
        var task = Task.Run(async () =>
        {
            try { await UploadAsync(pack).ConfigureAwait(false); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
            finally
            {
                pack.Dispose();
                _uploadSlots.Release();
            }
        });
        lock (_uploads) _uploads.Add(task);
    }

    private async Task UploadAsync(PackStaging pack)
    {
        var packId = pack.Complete(_repo.Key.Cipher);
        await _repo.Backend.PutFileAsync(Layout.Pack(packId), pack.Path).ConfigureAwait(false);
        _repo.Index.AddPack(packId, pack.Entries);
        lock (_indexLock) _unindexed.Packs.Add((packId, pack.Entries));
        await WriteIndexAsync(force: false, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task WaitForUploadsAsync()
    {
        Task[] uploads;
        lock (_uploads) uploads = _uploads.ToArray();
        try { await Task.WhenAll(uploads).ConfigureAwait(false); }
        catch (Exception) { /* recorded in _failure by the task itself */ }
    }

    private async Task WriteIndexAsync(bool force, CancellationToken ct)
    {
        IndexFile? file = null;
        lock (_indexLock)
        {
            if (_unindexed.Packs.Count > 0 && (force || _unindexed.Packs.Count >= IndexEveryPacks))
            {
                file = new IndexFile();
                file.Packs.AddRange(_unindexed.Packs);
                _unindexed.Packs.Clear();
            }
        }
        if (file is not null) await _repo.SaveIndexAsync(file, ct).ConfigureAwait(false);
    }

    private void ThrowIfFailed()
    {
        var failure = Volatile.Read(ref _failure);
        if (failure is null) return;
        if (failure is StrataException) throw failure;
        throw new StorageException($"writing to the repository failed: {IoErrorText.Describe(failure)}", failure);
    }
}
