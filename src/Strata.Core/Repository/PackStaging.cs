using System.Security.Cryptography;
using Strata.Crypto;

namespace Strata.Repository;

/// <summary>
/// A pack being assembled in a local temporary file (FORMAT.md §6): sealed blobs are appended
/// and hashed as they come, then the header and trailer close it. Packs live on disk rather than
/// in memory, so a backup's memory does not grow with the pack size, and a local repository
/// stores the file by renaming it: the bytes are written once.
/// </summary>
internal sealed class PackStaging : IDisposable
{
    private readonly FileStream _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public PackStaging(string directory)
    {
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, $"pack-{Guid.NewGuid():N}.tmp");
        // 64 KiB: below the large-object threshold, so a buffer per pack is cheap garbage, not LOH growth.
        _file = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 64 << 10);
    }

    public string Path { get; }
    public List<PackEntry> Entries { get; } = new();
    public long Length { get; private set; }

    public void Append(BlobType type, BlobId id, ReadOnlySpan<byte> sealedBlob, uint rawLength)
    {
        _file.Write(sealedBlob);
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
        _file.Write(bytes);
        _hash.AppendData(bytes);
        Length += bytes.Length;
        _file.Flush(flushToDisk: false);
        _file.Dispose();
        return new BlobId(_hash.GetHashAndReset());
    }

    public void Dispose()
    {
        // Disposing flushes what is still buffered; on a full disk that fails again. The file is being
        // discarded, so that must neither hide the first error nor escape (callers dispose in finally blocks).
        try { _file.Dispose(); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        _hash.Dispose();
        try { File.Delete(Path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
