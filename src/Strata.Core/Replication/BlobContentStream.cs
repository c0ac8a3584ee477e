using Strata.Repository;

namespace Strata.Replication;

/// <summary>
/// A file's content as a read-only stream: its blobs, read from the repository one at a time and
/// decrypted and verified as they come. Lets a copy re-chunk a file with another repository's chunker.
/// </summary>
internal sealed class BlobContentStream(Repository.Repository source, IReadOnlyList<BlobId> content, Action<long> onRead) : Stream
{
    private int _next;
    private byte[] _current = [];
    private int _offset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct = default)
    {
        while (_offset == _current.Length)
        {
            if (_next == content.Count) return 0;
            _current = await source.ReadBlobAsync(content[_next++], ct).ConfigureAwait(false);
            _offset = 0;
            onRead(_current.Length);
        }
        int n = Math.Min(destination.Length, _current.Length - _offset);
        _current.AsMemory(_offset, n).CopyTo(destination);
        _offset += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
