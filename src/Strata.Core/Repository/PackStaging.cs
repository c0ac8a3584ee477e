using System.Security.Cryptography;
using Strata.Crypto;
using Strata.Platform;

namespace Strata.Repository;

/// <summary>
/// A pack being assembled in a local temporary file (FORMAT.md §6): sealed blobs are appended
/// and hashed as they come, then the header and trailer close it. Packs live on disk rather than
/// in memory, so a backup's memory does not grow with the pack size, and a local repository
/// stores the file by renaming it: the bytes are written once, past the page cache
/// (<see cref="UncachedAppendFile"/>).
/// </summary>
internal sealed class PackStaging : IDisposable
{
    private readonly UncachedAppendFile _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public PackStaging(string directory)
    {
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, $"pack-{Guid.NewGuid():N}.tmp");
        _file = UncachedAppendFile.CreateNew(Path);
    }

    public string Path { get; }
    public List<PackEntry> Entries { get; } = new();
    public long Length { get; private set; }

    public void Append(BlobType type, BlobId id, ReadOnlySpan<byte> sealedBlob, uint rawLength)
    {
        _file.Append(sealedBlob);
        _hash.AppendData(sealedBlob);
        Entries.Add(new PackEntry(type, id, (uint)Length, (uint)sealedBlob.Length, rawLength));
        Length += sealedBlob.Length;
    }

    /// <summary>Writes header and trailer, flushes the file and returns the pack's id.</summary>
    public BlobId Complete(AuthenticatedCipher cipher)
    {
        using var trailer = new MemoryStream();
        PackFormat.WriteTrailer(cipher, Entries, trailer);
        var bytes = trailer.GetBuffer().AsSpan(0, (int)trailer.Length);
        _file.Append(bytes);
        _hash.AppendData(bytes);
        Length += bytes.Length;
        _file.Complete();
        _file.Dispose();
        return new BlobId(_hash.GetHashAndReset());
    }

    public void Dispose()
    {
        _file.Dispose();
        _hash.Dispose();
        try { File.Delete(Path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
