using System.Buffers.Binary;
using System.Text;

namespace Strata.Nbd;

public sealed partial class NbdClient
{
    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; holes the server reports come back as zeros.</summary>
    public async Task ReadAsync(long offset, Memory<byte> destination, CancellationToken ct = default)
    {
        CheckRange(offset, destination.Length);
        while (destination.Length > 0)
        {
            int n = Math.Min(destination.Length, NbdProtocol.MaxPayload);
            await ReadOneAsync(offset, destination[..n], ct).ConfigureAwait(false);
            offset += n;
            destination = destination[n..];
        }
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>.</summary>
    public async Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        CheckRange(offset, data.Length);
        CheckWritable();
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, NbdProtocol.MaxPayload);
            await SimpleCommandAsync(NbdCommand.Write, NbdCommandFlags.None, offset, (uint)n, data[..n], ct).ConfigureAwait(false);
            offset += n;
            data = data[n..];
        }
    }

    /// <summary>
    /// Makes a range read as zeros. With <paramref name="punchHole"/> the server may deallocate it
    /// (sparse stays sparse); servers without WRITE_ZEROES get written zeros.
    /// </summary>
    public async Task WriteZeroesAsync(long offset, long length, bool punchHole, CancellationToken ct = default)
    {
        CheckRange(offset, length);
        CheckWritable();
        if (!Flags.HasFlag(NbdTransmissionFlags.SendWriteZeroes))
        {
            var zeros = new byte[(int)Math.Min(length, 1 << 20)];
            while (length > 0)
            {
                int n = (int)Math.Min(length, zeros.Length);
                await WriteAsync(offset, zeros.AsMemory(0, n), ct).ConfigureAwait(false);
                offset += n;
                length -= n;
            }
            return;
        }
        var flags = punchHole ? NbdCommandFlags.None : NbdCommandFlags.NoHole;
        while (length > 0)
        {
            uint n = (uint)Math.Min(length, 1 << 30);
            await SimpleCommandAsync(NbdCommand.WriteZeroes, flags, offset, n, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            offset += n;
            length -= n;
        }
    }

    public async Task FlushAsync(CancellationToken ct = default)
    {
        if (!Flags.HasFlag(NbdTransmissionFlags.SendFlush)) return;
        await SimpleCommandAsync(NbdCommand.Flush, NbdCommandFlags.None, 0, 0, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The extents of <paramref name="context"/> covering [<paramref name="offset"/>, +<paramref name="length"/>),
    /// in order and without gaps (asks again where an answer covers less than was asked).
    /// </summary>
    public async Task<List<NbdExtent>> BlockStatusAsync(string context, long offset, long length, CancellationToken ct = default)
    {
        CheckRange(offset, length);
        if (!_contexts.TryGetValue(context, out uint contextId))
            throw new NbdException($"NBD server at {Address} did not grant meta context '{context}'");
        var extents = new List<NbdExtent>();
        long end = offset + length;
        while (offset < end)
        {
            uint ask = (uint)Math.Min(end - offset, 1 << 30);
            long covered = await BlockStatusOneAsync(contextId, offset, ask, end, extents, ct).ConfigureAwait(false);
            if (covered <= 0) throw Violation($"block status at offset {offset} described no bytes");
            offset += covered;
        }
        return extents;
    }

    // ---- one request each --------------------------------------------------------------------

    private async Task ReadOneAsync(long offset, Memory<byte> destination, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            ulong cookie = WriteRequestHeader(NbdCommand.Read, NbdCommandFlags.None, offset, (uint)destination.Length);
            await SendAsync(_header.AsMemory(0, NbdProtocol.RequestHeaderSize), ct).ConfigureAwait(false);
            string? error = null;
            while (true)
            {
                var chunk = await ReceiveReplyHeaderAsync(cookie, ct).ConfigureAwait(false);
                if (!chunk.Structured)
                {
                    if (chunk.Error != 0) throw CommandFailure("read", offset, chunk.Error, null);
                    await ReceiveAsync(destination, ct).ConfigureAwait(false);
                    return;
                }
                switch (chunk.Type)
                {
                    case NbdReplyType.OffsetData:
                    {
                        if (chunk.Length < 8) throw Violation("an OFFSET_DATA chunk shorter than its offset");
                        await ReceiveAsync(_header.AsMemory(0, 8), ct).ConfigureAwait(false);
                        long at = (long)BinaryPrimitives.ReadUInt64BigEndian(_header) - offset;
                        long n = chunk.Length - 8;
                        if (at < 0 || at + n > destination.Length) throw Violation("an OFFSET_DATA chunk outside the requested range");
                        await ReceiveAsync(destination.Slice((int)at, (int)n), ct).ConfigureAwait(false);
                        break;
                    }
                    case NbdReplyType.OffsetHole:
                    {
                        if (chunk.Length != 12) throw Violation("an OFFSET_HOLE chunk of the wrong size");
                        await ReceiveAsync(_header.AsMemory(0, 12), ct).ConfigureAwait(false);
                        long at = (long)BinaryPrimitives.ReadUInt64BigEndian(_header) - offset;
                        uint n = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(8));
                        if (at < 0 || at + n > destination.Length) throw Violation("an OFFSET_HOLE chunk outside the requested range");
                        destination.Span.Slice((int)at, (int)n).Clear();
                        break;
                    }
                    default:
                        error ??= await ReceiveOtherChunkAsync(chunk, ct).ConfigureAwait(false);
                        break;
                }
                if (chunk.Done) break;
            }
            if (error is not null) throw new NbdException($"NBD server at {Address}: read at offset {offset} failed: {error}");
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<long> BlockStatusOneAsync(uint contextId, long offset, uint length, long end, List<NbdExtent> extents, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            ulong cookie = WriteRequestHeader(NbdCommand.BlockStatus, NbdCommandFlags.None, offset, length);
            await SendAsync(_header.AsMemory(0, NbdProtocol.RequestHeaderSize), ct).ConfigureAwait(false);
            long covered = 0;
            string? error = null;
            while (true)
            {
                var chunk = await ReceiveReplyHeaderAsync(cookie, ct).ConfigureAwait(false);
                if (!chunk.Structured)
                {
                    if (chunk.Error != 0) throw CommandFailure("block status", offset, chunk.Error, null);
                    throw Violation("a simple reply to NBD_CMD_BLOCK_STATUS");
                }
                if (chunk.Type == NbdReplyType.BlockStatus)
                {
                    if (chunk.Length < 12 || (chunk.Length - 4) % 8 != 0) throw Violation("a BLOCK_STATUS chunk of the wrong size");
                    var payload = new byte[chunk.Length];
                    await ReceiveAsync(payload, ct).ConfigureAwait(false);
                    if (BinaryPrimitives.ReadUInt32BigEndian(payload) == contextId)
                    {
                        long at = offset;
                        for (int i = 4; i < payload.Length && at < end; i += 8)
                        {
                            long n = Math.Min(BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i)), end - at);
                            uint flags = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 4));
                            if (n == 0) throw Violation("a block status extent of length 0");
                            if (extents.Count > 0 && extents[^1].End == at && extents[^1].Flags == flags)
                                extents[^1] = extents[^1] with { Length = extents[^1].Length + n };
                            else
                                extents.Add(new NbdExtent(at, n, flags));
                            at += n;
                        }
                        covered = at - offset;
                    }
                }
                else if (chunk.Type != NbdReplyType.None || chunk.Length != 0)
                {
                    error ??= await ReceiveOtherChunkAsync(chunk, ct).ConfigureAwait(false);
                }
                if (chunk.Done) break;
            }
            if (error is not null) throw new NbdException($"NBD server at {Address}: block status at offset {offset} failed: {error}");
            return covered;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task SimpleCommandAsync(NbdCommand command, NbdCommandFlags flags, long offset, uint length, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await EnterAsync(ct).ConfigureAwait(false);
        try
        {
            ulong cookie = WriteRequestHeader(command, flags, offset, length);
            await SendAsync(_header.AsMemory(0, NbdProtocol.RequestHeaderSize), ct).ConfigureAwait(false);
            if (data.Length > 0) await SendAsync(data, ct).ConfigureAwait(false);
            string? error = null;
            while (true)
            {
                var chunk = await ReceiveReplyHeaderAsync(cookie, ct).ConfigureAwait(false);
                if (!chunk.Structured)
                {
                    if (chunk.Error != 0) throw CommandFailure(command.ToString().ToLowerInvariant(), offset, chunk.Error, null);
                    return;
                }
                if (chunk.Type != NbdReplyType.None || chunk.Length != 0)
                    error ??= await ReceiveOtherChunkAsync(chunk, ct).ConfigureAwait(false);
                if (chunk.Done) break;
            }
            if (error is not null) throw new NbdException($"NBD server at {Address}: {command.ToString().ToLowerInvariant()} at offset {offset} failed: {error}");
        }
        finally
        {
            _gate.Release();
        }
    }

    // ---- reply parsing -----------------------------------------------------------------------

    private readonly record struct ReplyHeader(bool Structured, uint Error, NbdReplyType Type, bool Done, uint Length);

    private async Task<ReplyHeader> ReceiveReplyHeaderAsync(ulong cookie, CancellationToken ct)
    {
        await ReceiveAsync(_header.AsMemory(0, 4), ct).ConfigureAwait(false);
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(_header);
        if (magic == NbdProtocol.SimpleReplyMagic)
        {
            await ReceiveAsync(_header.AsMemory(4, 12), ct).ConfigureAwait(false);
            if (BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(8)) != cookie) throw Violation("a reply to a request that was not sent");
            return new ReplyHeader(false, BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(4)), NbdReplyType.None, true, 0);
        }
        if (magic != NbdProtocol.StructuredReplyMagic || !_structured) throw Violation($"bad reply magic 0x{magic:x8}");
        await ReceiveAsync(_header.AsMemory(4, 16), ct).ConfigureAwait(false);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(4));
        var type = (NbdReplyType)BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(6));
        if (BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(8)) != cookie) throw Violation("a reply to a request that was not sent");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(16));
        if (length > NbdProtocol.MaxPayload + 64) throw Violation($"a reply chunk of {length} bytes");
        return new ReplyHeader(true, 0, type, (flags & NbdReplyFlags.Done) != 0, length);
    }

    /// <summary>Consumes a chunk the request did not expect; returns the error it carries (unknown non-error chunks are a violation).</summary>
    private async Task<string> ReceiveOtherChunkAsync(ReplyHeader chunk, CancellationToken ct)
    {
        var payload = new byte[chunk.Length];
        await ReceiveAsync(payload, ct).ConfigureAwait(false);
        if (((ushort)chunk.Type & 0x8000) == 0) throw Violation($"an unexpected reply chunk of type {(ushort)chunk.Type}");
        if (payload.Length < 6) return "an error without details";
        uint error = BinaryPrimitives.ReadUInt32BigEndian(payload);
        int messageLength = BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(4));
        string message = messageLength > 0 && 6 + messageLength <= payload.Length ? ": " + Encoding.UTF8.GetString(payload, 6, messageLength) : "";
        return NbdErrors.Describe(error) + message;
    }

    private NbdException CommandFailure(string what, long offset, uint error, string? message) =>
        new($"NBD server at {Address}: {what} at offset {offset} failed: {NbdErrors.Describe(error)}{message}");

    // ---- helpers -----------------------------------------------------------------------------

    private async Task EnterAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        if (_broken || _disposed)
        {
            _gate.Release();
            throw new NbdException($"the connection to the NBD server at {Address} is no longer usable after an earlier failure");
        }
    }

    private ulong WriteRequestHeader(NbdCommand command, NbdCommandFlags flags, long offset, uint length)
    {
        ulong cookie = _nextCookie++;
        var h = _header.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(h, NbdProtocol.RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)command);
        BinaryPrimitives.WriteUInt64BigEndian(h[8..], cookie);
        BinaryPrimitives.WriteUInt64BigEndian(h[16..], (ulong)offset);
        BinaryPrimitives.WriteUInt32BigEndian(h[24..], length);
        return cookie;
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Size)
            throw new NbdException($"range {offset}+{length} is outside the export {Address} of {Size} bytes");
    }

    private void CheckWritable()
    {
        if (IsReadOnly) throw new NbdException($"the NBD export {Address} is read-only");
    }
}
