using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Strata.Errors;

namespace Strata.Repository;

/// <summary>
/// Stores new blobs for one writing session (a backup, a copy): deduplicates against the index
/// and against blobs claimed earlier in the session, compresses and seals them on the calling
/// thread, and packs them into pack files that are uploaded in the background.
/// Write order (docs/FORMAT.md, "Invariants"): a pack is complete in storage before an index
/// names it, and <see cref="FlushAsync"/> writes the index before the caller saves any snapshot
/// that references the blobs. A session that dies leaves only unreferenced packs behind.
/// </summary>
public sealed class BlobWriter : IAsyncDisposable
{
    private const int MaxEntriesPerPack = 40_000;
    private const int MaxUploadsInFlight = 2;
    private const int IndexEveryPacks = 64;

    private readonly Repository _repo;
    private readonly ConcurrentDictionary<BlobId, byte> _claimed = new();
    private readonly object _packLock = new();
    private readonly object _indexLock = new();
    private readonly SemaphoreSlim _uploadSlots = new(MaxUploadsInFlight);
    private readonly List<Task> _uploads = new();
    private readonly IndexFile _unindexed = new();
    private byte[]? _buffer;
    private int _position;
    private List<PackEntry> _entries = new();
    private Exception? _failure;
    private long _bytesAdded, _blobsAdded, _dataBlobs, _treeBlobs;

    public BlobWriter(Repository repo) => _repo = repo;

    /// <summary>Sealed bytes written into packs by this session (what the repository grew by, headers aside).</summary>
    public long BytesAdded => Interlocked.Read(ref _bytesAdded);
    public long BlobsAdded => Interlocked.Read(ref _blobsAdded);
    public long DataBlobsAdded => Interlocked.Read(ref _dataBlobs);
    public long TreeBlobsAdded => Interlocked.Read(ref _treeBlobs);

    /// <summary>Stores <paramref name="plaintext"/> unless the repository already has it; returns its id.</summary>
    public BlobId Save(BlobType type, ReadOnlySpan<byte> plaintext, out bool added)
    {
        ThrowIfFailed();
        var id = _repo.Key.ComputeBlobId(plaintext);
        if (_repo.Index.Contains(id) || !_claimed.TryAdd(id, 0))
        {
            added = false;
            return id;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(Envelope.MaxSealedLength(plaintext.Length));
        try
        {
            int length = Envelope.Seal(_repo.Key.Cipher, plaintext, _repo.Config.CompressionLevel, scratch);
            Append(type, id, scratch.AsSpan(0, length), (uint)plaintext.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
        Interlocked.Increment(ref _blobsAdded);
        Interlocked.Increment(ref type == BlobType.Tree ? ref _treeBlobs : ref _dataBlobs);
        added = true;
        return id;
    }

    /// <summary>Uploads the last partial pack, waits for every upload and writes the index for them.</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        PendingPack? last;
        lock (_packLock) last = Detach();
        if (last is not null) StartUpload(last);
        Task[] uploads;
        lock (_uploads) uploads = _uploads.ToArray();
        try { await Task.WhenAll(uploads).ConfigureAwait(false); }
        catch (Exception) { }
        ThrowIfFailed();
        await WriteIndexAsync(force: true, ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        Task[] uploads;
        lock (_uploads) uploads = _uploads.ToArray();
        try { await Task.WhenAll(uploads).ConfigureAwait(false); } catch (Exception) { }
        lock (_packLock)
        {
            if (_buffer is not null) ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

    private void Append(BlobType type, BlobId id, ReadOnlySpan<byte> sealedBlob, uint rawLength)
    {
        PendingPack? full = null;
        lock (_packLock)
        {
            if (_buffer is not null && (_position + sealedBlob.Length > _buffer.Length || _entries.Count >= MaxEntriesPerPack))
                full = Detach();
            _buffer ??= ArrayPool<byte>.Shared.Rent(Math.Max(_repo.Config.PackSize, sealedBlob.Length) + (64 << 10));
            sealedBlob.CopyTo(_buffer.AsSpan(_position));
            _entries.Add(new PackEntry(type, id, (uint)_position, (uint)sealedBlob.Length, rawLength));
            _position += sealedBlob.Length;
            Interlocked.Add(ref _bytesAdded, sealedBlob.Length);
            if (full is null && _position >= _repo.Config.PackSize) full = Detach();
        }
        if (full is not null) StartUpload(full);
    }

    private PendingPack? Detach()
    {
        if (_buffer is null || _entries.Count == 0) return null;
        var pack = new PendingPack(_buffer, _position, _entries);
        _buffer = null;
        _position = 0;
        _entries = new List<PackEntry>();
        return pack;
    }

    private void StartUpload(PendingPack pack)
    {
        // Back-pressure: the producing worker waits here when uploads fall behind, bounding memory.
        _uploadSlots.Wait();
        var task = Task.Run(async () =>
        {
            try { await UploadAsync(pack).ConfigureAwait(false); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
            finally
            {
                ArrayPool<byte>.Shared.Return(pack.Buffer);
                _uploadSlots.Release();
            }
        });
        lock (_uploads) _uploads.Add(task);
    }

    private async Task UploadAsync(PendingPack pack)
    {
        using var stream = new MemoryStream(pack.Length + pack.Entries.Count * PackFormat.HeaderEntrySize + 256);
        stream.Write(pack.Buffer, 0, pack.Length);
        PackFormat.WriteTrailer(_repo.Key.Cipher, pack.Entries, stream);
        var bytes = stream.GetBuffer().AsMemory(0, (int)stream.Length);
        var packId = new BlobId(SHA256.HashData(bytes.Span));
        await _repo.Backend.PutAsync(Layout.Pack(packId), bytes).ConfigureAwait(false);
        _repo.Index.AddPack(packId, pack.Entries);
        lock (_indexLock) _unindexed.Packs.Add((packId, pack.Entries));
        await WriteIndexAsync(force: false, CancellationToken.None).ConfigureAwait(false);
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
        throw new StorageException($"writing to the repository failed: {failure.Message}", failure);
    }

    private sealed record PendingPack(byte[] Buffer, int Length, List<PackEntry> Entries);
}
