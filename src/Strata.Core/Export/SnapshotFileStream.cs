using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Export;

/// <summary>
/// A file of a snapshot as a read-only, seekable stream: the archive writers need its length up
/// front and copy it sequentially. The chunk being read is kept, so each is fetched once.
/// </summary>
internal sealed class SnapshotFileStream : Stream
{
    private readonly Repository.Repository _repo;
    private readonly FileContentMap _content;
    private BlobId _currentId;
    private byte[]? _current;
    private long _position;

    public SnapshotFileStream(Repository.Repository repo, Node file)
    {
        _repo = repo;
        _content = new FileContentMap(file.Content ?? [], id => repo.Locate(id).RawLength);
    }

    /// <summary>Stored bytes read from the repository.</summary>
    public long BytesFetched { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _content.Length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = _content.Read(buffer, _position, Fetch);
        _position += n;
        return n;
    }

    private byte[] Fetch(BlobId id)
    {
        if (_current is null || _currentId != id)
        {
            _current = _repo.ReadBlobAsync(id).GetAwaiter().GetResult();
            _currentId = id;
            BytesFetched += _repo.Locate(id).Length;
        }
        return _current;
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => Length + offset,
    };

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
