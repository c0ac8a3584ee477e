namespace Strata.Storage;

/// <summary>
/// Where a repository's files live: a local directory, an object store, a Strata server.
/// Names are slash-separated relative paths such as <c>data/3f/3f9a…</c> (docs/FORMAT.md, "Layout").
/// Contract, relied on by the repository's crash-safety rules:
/// <list type="bullet">
/// <item><see cref="PutAsync"/> is atomic: a reader sees either nothing or the whole object, never a prefix.
/// Repository objects are content-addressed, so a put of an existing name may simply replace it.</item>
/// <item><see cref="GetAsync"/> on a missing name throws <see cref="ObjectNotFoundException"/>.</item>
/// <item><see cref="DeleteAsync"/> of a missing name succeeds (deletes are idempotent).</item>
/// <item>Every call may be retried after a failure without harm.</item>
/// </list>
/// </summary>
public interface IStorageBackend : IDisposable
{
    /// <summary>A description for messages, e.g. the directory path or URL.</summary>
    string Location { get; }

    Task<bool> ExistsAsync(string name, CancellationToken ct = default);

    Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken ct = default);

    /// <summary>
    /// Stores the bytes of a local file (created under <see cref="StagingDirectory"/>) as the object,
    /// with the same atomicity as <see cref="PutAsync"/>. The file is consumed: moved or deleted.
    /// </summary>
    Task PutFileAsync(string name, string localPath, CancellationToken ct = default);

    /// <summary>Where writers stage large objects (packs) before <see cref="PutFileAsync"/>.</summary>
    string StagingDirectory { get; }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="offset"/>, or the whole object when length is -1.</summary>
    Task<byte[]> GetAsync(string name, long offset = 0, int length = -1, CancellationToken ct = default);

    /// <summary>Reads exactly <c>destination.Length</c> bytes at <paramref name="offset"/> into a caller's buffer (hot paths: no allocation).</summary>
    Task ReadAsync(string name, long offset, Memory<byte> destination, CancellationToken ct = default);

    /// <summary>Every object whose name starts with <paramref name="prefix"/> (a folder such as "snapshots/").</summary>
    IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken ct = default);

    Task DeleteAsync(string name, CancellationToken ct = default);
}

public readonly record struct StoredObject(string Name, long Size);

public sealed class ObjectNotFoundException(string name, string location)
    : Errors.StorageException($"{name} is missing from {location}");
