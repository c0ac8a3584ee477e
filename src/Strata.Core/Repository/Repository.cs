using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Strata.Chunking;
using Strata.Crypto;
using Strata.Errors;
using Strata.Snapshots;
using Strata.Storage;

namespace Strata.Repository;

/// <summary>
/// An opened repository: storage, master key, config and (once loaded) the index. All reads of
/// stored data go through here and are authenticated and re-hashed before anyone sees them.
/// </summary>
public sealed class Repository : IDisposable
{
    private readonly ConcurrentDictionary<BlobId, Tree> _treeCache = new();

    private Repository(IStorageBackend backend, MasterKey key, RepositoryConfig config, string keyId)
    {
        Backend = backend;
        Key = key;
        Config = config;
        KeyId = keyId;
        try
        {
            config.Chunker.Parameters.Validate();
            Chunker = new FastCdc(config.Chunker.Parameters, GearTable.FromSeed(config.Chunker.GearSeed));
        }
        catch (Exception e) when (e is UsageException or ArgumentException)
        {
            throw new CorruptDataException($"config: invalid chunker parameters ({e.Message})");
        }
    }

    public IStorageBackend Backend { get; }
    public MasterKey Key { get; }
    public RepositoryConfig Config { get; }
    /// <summary>The key slot the password opened.</summary>
    public string KeyId { get; }
    public FastCdc Chunker { get; }
    public MasterIndex Index { get; } = new();

    public static async Task<Repository> InitAsync(IStorageBackend backend, string password, RepositoryInitOptions options, CancellationToken ct = default)
    {
        if (await backend.ExistsAsync(Layout.Config, ct).ConfigureAwait(false))
            throw new UsageException($"a repository already exists at {backend.Location}");
        options.Chunker.Validate();
        if (options.GearSeed is { Length: not 32 }) throw new UsageException("the chunker's gear seed must be 32 bytes");
        if (options.PackSize is < (1 << 20) or > (1 << 30)) throw new UsageException("pack size must be between 1 MiB and 1 GiB");
        if (options.CompressionLevel is < 0 or > 19) throw new UsageException("compression level must be between 0 (off) and 19");
        var key = MasterKey.Generate();
        var config = new RepositoryConfig
        {
            Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            Created = DateTimeOffset.UtcNow,
            CompressionLevel = options.CompressionLevel,
            PackSize = options.PackSize,
            Chunker = new RepositoryConfig.ChunkerConfig
            {
                MinSize = options.Chunker.MinSize,
                AverageSize = options.Chunker.AverageSize,
                MaxSize = options.Chunker.MaxSize,
                GearSeed = options.GearSeed ?? RandomNumberGenerator.GetBytes(32),
            },
        };
        // Key slot first, config last: a repository "exists" only once its config does, and by then it can be opened.
        var keyId = await WriteKeySlotAsync(backend, KeySlot.Create(key, password, options.KdfOpsLimit, options.KdfMemLimit), ct).ConfigureAwait(false);
        var sealedConfig = Envelope.Seal(key.Cipher, JsonSerializer.SerializeToUtf8Bytes(config, StrataJson.Default.RepositoryConfig), 0);
        await backend.PutAsync(Layout.Config, sealedConfig, ct).ConfigureAwait(false);
        return new Repository(backend, key, config, keyId);
    }

    public static async Task<Repository> OpenAsync(IStorageBackend backend, string password, CancellationToken ct = default)
    {
        if (!await backend.ExistsAsync(Layout.Config, ct).ConfigureAwait(false))
            throw new RepositoryNotFoundException(backend.Location);
        foreach (var (id, slot) in await ListKeySlotsAsync(backend, ct).ConfigureAwait(false))
        {
            var key = slot.TryOpen(password);
            if (key is null) continue;
            var sealedConfig = await backend.GetAsync(Layout.Config, ct: ct).ConfigureAwait(false);
            var config = DeserializeJson(Envelope.Open(key.Cipher, sealedConfig, "config"), StrataJson.Default.RepositoryConfig, "config");
            if (config.Version != RepositoryConfig.CurrentVersion)
                throw new StrataException($"repository format version {config.Version} is not supported by this Strata (supports {RepositoryConfig.CurrentVersion})");
            return new Repository(backend, key, config, id);
        }
        throw new WrongPasswordException();
    }

    // ---- key slots -------------------------------------------------------------------------

    public static async Task<List<(string Id, KeySlot Slot)>> ListKeySlotsAsync(IStorageBackend backend, CancellationToken ct = default)
    {
        var slots = new List<(string, KeySlot)>();
        await foreach (var obj in backend.ListAsync(Layout.KeysFolder, ct).ConfigureAwait(false))
        {
            var id = obj.Name[Layout.KeysFolder.Length..];
            var bytes = await backend.GetAsync(obj.Name, ct: ct).ConfigureAwait(false);
            slots.Add((id, DeserializeJson(bytes, StrataJson.Default.KeySlot, obj.Name)));
        }
        return slots;
    }

    public async Task<string> AddKeyAsync(string password, CancellationToken ct = default) =>
        await WriteKeySlotAsync(Backend, KeySlot.Create(Key, password), ct).ConfigureAwait(false);

    public async Task RemoveKeyAsync(string id, CancellationToken ct = default)
    {
        var slots = await ListKeySlotsAsync(Backend, ct).ConfigureAwait(false);
        var matches = slots.Where(s => s.Id.StartsWith(id, StringComparison.Ordinal)).ToList();
        if (matches.Count == 0) throw new UsageException($"no key {id} in the repository");
        if (matches.Count > 1) throw new UsageException($"key id prefix {id} is ambiguous");
        if (matches[0].Id == KeyId) throw new UsageException("refusing to remove the key in use: open the repository with another password to remove this one");
        await Backend.DeleteAsync(Layout.Key(matches[0].Id), ct).ConfigureAwait(false);
    }

    private static async Task<string> WriteKeySlotAsync(IStorageBackend backend, KeySlot slot, CancellationToken ct)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(slot, StrataJson.Default.KeySlot);
        var id = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await backend.PutAsync(Layout.Key(id), bytes, ct).ConfigureAwait(false);
        return id;
    }

    // ---- index -----------------------------------------------------------------------------

    /// <summary>
    /// Loads every index file not loaded yet (new ones may have come from concurrent writers), after
    /// the packs pending garbage collection, so that writers never deduplicate against those. An index
    /// file that vanishes meanwhile was replaced by a prune: the listing is repeated to find its successor.
    /// </summary>
    public async Task LoadIndexAsync(CancellationToken ct = default)
    {
        foreach (var record in await GarbageRecord.ListAsync(this, ct).ConfigureAwait(false)) Index.Condemn(record.Packs);
        for (int attempt = 0; ; attempt++)
        {
            var names = new List<string>();
            await foreach (var obj in Backend.ListAsync(Layout.IndexFolder, ct).ConfigureAwait(false))
                if (!Index.HasLoaded(obj.Name)) names.Add(obj.Name);
            int vanished = 0;
            await Parallel.ForEachAsync(names, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = 4 }, async (name, token) =>
            {
                try { Index.Add(await LoadIndexFileAsync(name, token).ConfigureAwait(false), name); }
                catch (ObjectNotFoundException) when (attempt < 3) { Interlocked.Increment(ref vanished); }
            }).ConfigureAwait(false);
            if (vanished == 0) return;
        }
    }

    public async Task<IndexFile> LoadIndexFileAsync(string name, CancellationToken ct = default)
    {
        var stored = await Backend.GetAsync(name, ct: ct).ConfigureAwait(false);
        VerifyContentAddress(name, stored);
        return IndexFile.Decode(Envelope.Open(Key.Cipher, stored, name), name);
    }

    public async Task<string> SaveIndexAsync(IndexFile file, CancellationToken ct = default)
    {
        var stored = Envelope.Seal(Key.Cipher, file.Encode(), Config.CompressionLevel);
        var name = Layout.Index(new BlobId(SHA256.HashData(stored)));
        await Backend.PutAsync(name, stored, ct).ConfigureAwait(false);
        Index.Add(file, name);
        return name;
    }

    // ---- blobs -----------------------------------------------------------------------------

    /// <summary>Reads, authenticates, decompresses and re-hashes one blob.</summary>
    public async Task<byte[]> ReadBlobAsync(BlobId id, CancellationToken ct = default)
    {
        if (!Index.TryGet(id, out _)) await ReloadIndexForUnknownBlobAsync(ct).ConfigureAwait(false);
        var location = Locate(id);
        var stored = ArrayPool<byte>.Shared.Rent((int)location.Length);
        try
        {
            var plaintext = GC.AllocateUninitializedArray<byte>((int)location.RawLength);
            await ReadBlobAsync(id, stored, plaintext, ct).ConfigureAwait(false);
            return plaintext;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stored);
        }
    }

    /// <summary>
    /// Reads one blob into <paramref name="destination"/> (at least its plaintext length), staging the
    /// sealed bytes in <paramref name="sealedBuffer"/> (at least its stored length); returns the plaintext length.
    /// For hot paths that reuse buffers: nothing is allocated per blob.
    /// </summary>
    public async ValueTask<int> ReadBlobAsync(BlobId id, byte[] sealedBuffer, Memory<byte> destination, CancellationToken ct = default)
    {
        if (!Index.TryGet(id, out _)) await ReloadIndexForUnknownBlobAsync(ct).ConfigureAwait(false);
        var location = Locate(id);
        var packName = Index.PackNameOf(location);
        var stored = sealedBuffer.AsMemory(0, (int)location.Length);
        try
        {
            await Backend.ReadAsync(packName, location.Offset, stored, ct).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            // A prune that ran after our index was loaded may have moved the blob to another pack.
            if (!await ReloadIndexWithoutAsync(Index.PackOf(location), id, ct).ConfigureAwait(false)) throw;
            return await ReadBlobAsync(id, sealedBuffer, destination, ct).ConfigureAwait(false);
        }
        OpenBlob(id, stored.Span, destination.Span[..(int)location.RawLength], packName);
        return (int)location.RawLength;
    }

    private readonly SemaphoreSlim _reload = new(1);
    private long _lastReloadTicks;

    /// <summary>
    /// A blob the loaded index does not know may belong to a snapshot a concurrent backup saved after
    /// the index was read: its index files exist by now (FORMAT.md I2), so the new ones are loaded.
    /// At most once a second, so a damaged repository with many missing blobs does not list for each.
    /// </summary>
    private async Task ReloadIndexForUnknownBlobAsync(CancellationToken ct)
    {
        await _reload.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            long now = Environment.TickCount64;
            if (now - Interlocked.Read(ref _lastReloadTicks) < 1000) return;
            await LoadIndexAsync(ct).ConfigureAwait(false);
            Interlocked.Exchange(ref _lastReloadTicks, Environment.TickCount64);
        }
        finally
        {
            _reload.Release();
        }
    }
    private readonly HashSet<BlobId> _droppedPacks = new();

    /// <summary>
    /// Drops a pack found missing and reloads the index (once per pack, however many readers notice);
    /// true when the blob now has another location worth trying.
    /// </summary>
    private async Task<bool> ReloadIndexWithoutAsync(BlobId pack, BlobId blob, CancellationToken ct)
    {
        await _reload.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_droppedPacks.Add(pack))
            {
                Index.DropPack(pack);
                await LoadIndexAsync(ct).ConfigureAwait(false);
            }
            return Index.TryGet(blob, out var location) && Index.PackOf(location) != pack;
        }
        finally
        {
            _reload.Release();
        }
    }

    /// <summary>Every pack in storage with its size, whether or not an index names it.</summary>
    public async Task<Dictionary<BlobId, long>> ListPacksAsync(CancellationToken ct = default)
    {
        var packs = new Dictionary<BlobId, long>();
        await foreach (var obj in Backend.ListAsync(Layout.DataFolder, ct).ConfigureAwait(false))
            if (Layout.IdOf(obj.Name) is { } id) packs[id] = obj.Size;
        return packs;
    }

    /// <summary>Where the index says a blob is; a blob missing from the index is damage, not a usage error.</summary>
    public BlobLocation Locate(BlobId id) =>
        Index.TryGet(id, out var location) ? location : throw new CorruptDataException($"blob {id.ToShortString()} is not in the index");

    /// <summary>Decrypts a blob's stored bytes (overwriting them) into <paramref name="destination"/> and checks its id.</summary>
    public void OpenBlob(BlobId id, Span<byte> stored, Span<byte> destination, string packName)
    {
        var what = $"blob {id.ToShortString()} in {packName}";
        Envelope.OpenInPlace(Key.Cipher, stored, destination, what);
        if (Key.ComputeBlobId(destination) != id) throw new CorruptDataException($"{what}: content does not match its id");
    }

    /// <summary>
    /// Loads a tree. Browsing commands revisit trees and keep them in a bounded cache; a backup reads
    /// each parent tree once and passes <paramref name="cache"/> false so memory does not grow with the tree count.
    /// </summary>
    public async Task<Tree> LoadTreeAsync(BlobId id, CancellationToken ct = default, bool cache = true)
    {
        if (_treeCache.TryGetValue(id, out var cached)) return cached;
        var tree = Tree.Deserialize(await ReadBlobAsync(id, ct).ConfigureAwait(false), $"tree {id.ToShortString()}");
        if (cache && _treeCache.Count < 1024) _treeCache.TryAdd(id, tree);
        return tree;
    }

    // ---- snapshots -------------------------------------------------------------------------

    public async Task<BlobId> SaveSnapshotAsync(Snapshot snapshot, CancellationToken ct = default)
    {
        var stored = Envelope.Seal(Key.Cipher, JsonSerializer.SerializeToUtf8Bytes(snapshot, StrataJson.Default.Snapshot), Config.CompressionLevel);
        var id = new BlobId(SHA256.HashData(stored));
        await Backend.PutAsync(Layout.Snapshot(id), stored, ct).ConfigureAwait(false);
        snapshot.Id = id;
        return id;
    }

    public async Task<Snapshot> LoadSnapshotAsync(BlobId id, CancellationToken ct = default)
    {
        var name = Layout.Snapshot(id);
        var stored = await Backend.GetAsync(name, ct: ct).ConfigureAwait(false);
        VerifyContentAddress(name, stored);
        var snapshot = DeserializeJson(Envelope.Open(Key.Cipher, stored, name), StrataJson.Default.Snapshot, name);
        snapshot.Id = id;
        return snapshot;
    }

    /// <summary>Every snapshot, oldest first.</summary>
    public async Task<List<Snapshot>> ListSnapshotsAsync(CancellationToken ct = default)
    {
        var ids = new List<BlobId>();
        await foreach (var obj in Backend.ListAsync(Layout.SnapshotsFolder, ct).ConfigureAwait(false))
            if (Layout.IdOf(obj.Name) is { } id) ids.Add(id);
        var snapshots = new Snapshot?[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = 4 }, async (i, token) =>
        {
            // Listed, then gone: another process forgot it in between. A snapshot is deleted whole, so skipping it is exact.
            try { snapshots[i] = await LoadSnapshotAsync(ids[i], token).ConfigureAwait(false); }
            catch (ObjectNotFoundException) { }
        }).ConfigureAwait(false);
        return snapshots.OfType<Snapshot>().OrderBy(s => s.Time).ThenBy(s => s.Id).ToList();
    }

    /// <summary>
    /// Deletes one snapshot object (forget). Only that recovery point goes: snapshots never reference
    /// each other, and the blobs it shared stay until prune finds them unreferenced. Idempotent.
    /// </summary>
    public Task DeleteSnapshotAsync(BlobId id, CancellationToken ct = default) =>
        Backend.DeleteAsync(Layout.Snapshot(id), ct);

    /// <summary>Resolves "latest" or an id prefix (at least 4 hex digits) to one snapshot.</summary>
    public async Task<Snapshot> FindSnapshotAsync(string reference, SnapshotFilter? filter = null, CancellationToken ct = default) =>
        (await FindSnapshotsAsync([reference], filter, ct).ConfigureAwait(false))[0];

    /// <summary>
    /// Resolves several references against one listing of the snapshots: each once, in the order
    /// given; a reference that resolves to nothing, or to several, fails the whole call.
    /// </summary>
    public async Task<List<Snapshot>> FindSnapshotsAsync(IEnumerable<string> references, SnapshotFilter? filter = null, CancellationToken ct = default)
    {
        var all = await ListSnapshotsAsync(ct).ConfigureAwait(false);
        var candidates = filter is null ? all : all.Where(filter.Matches).ToList();
        var found = new List<Snapshot>();
        foreach (var reference in references)
        {
            var snapshot = Resolve(candidates, reference, filter);
            if (!found.Any(s => s.Id == snapshot.Id)) found.Add(snapshot);
        }
        return found;
    }

    private static Snapshot Resolve(List<Snapshot> candidates, string reference, SnapshotFilter? filter)
    {
        if (reference == "latest")
            return candidates.LastOrDefault() ?? throw new UsageException(filter is null ? "the repository has no snapshots yet" : "no snapshot matches the given host/path/tag filters");
        var lower = reference.ToLowerInvariant();
        if (lower.Length < 4 || !lower.All(Uri.IsHexDigit)) throw new UsageException($"'{reference}' is not a snapshot id (give 'latest' or at least 4 hex digits)");
        var matches = candidates.Where(s => s.Id.ToString().StartsWith(lower, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new UsageException($"no snapshot {reference} in the repository"),
            _ => throw new UsageException($"snapshot id prefix {reference} is ambiguous ({matches.Count} snapshots): give more digits"),
        };
    }

    public void Dispose() => Backend.Dispose();

    // ---- helpers ---------------------------------------------------------------------------

    private static void VerifyContentAddress(string name, ReadOnlySpan<byte> stored)
    {
        var expected = Layout.IdOf(name);
        if (expected is { } id && new BlobId(SHA256.HashData(stored)) != id)
            throw new CorruptDataException($"{name}: content does not match its name (damaged)");
    }

    private static T DeserializeJson<T>(byte[] json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(json, info) ?? throw new CorruptDataException($"{what}: empty document");
        }
        catch (JsonException e)
        {
            throw new CorruptDataException($"{what}: not valid ({e.Message})");
        }
    }
}

public sealed record RepositoryInitOptions
{
    public ChunkerParameters Chunker { get; init; } = ChunkerParameters.Default;
    public int CompressionLevel { get; init; } = 1;
    public int PackSize { get; init; } = 16 << 20;
    public long KdfOpsLimit { get; init; } = KeySlot.DefaultOpsLimit;
    public long KdfMemLimit { get; init; } = KeySlot.DefaultMemLimit;
    /// <summary>The chunker's gear seed; null = random. Copied from another repository (with its parameters), blobs copied between the two map one to one.</summary>
    public byte[]? GearSeed { get; init; }
}

/// <summary>Selects snapshots by host, path and tag (all given criteria must match).</summary>
public sealed record SnapshotFilter(string? Host = null, IReadOnlyList<string>? Paths = null, IReadOnlyList<string>? Tags = null)
{
    public bool Matches(Snapshot s) =>
        (Host is null || s.Hostname == Host)
        && (Paths is null || Paths.Count == 0 || (Paths.Count == s.Paths.Count && Paths.All(s.Paths.Contains)))
        && (Tags is null || Tags.Count == 0 || Tags.All(t => s.Tags?.Contains(t) == true));
}
