using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Strata.Nbd;

/// <summary>
/// One client connection of <see cref="NbdServer"/>: the fixed-newstyle handshake (NBD_OPT_GO, INFO,
/// LIST, ABORT, EXPORT_NAME, STRUCTURED_REPLY, LIST/SET_META_CONTEXT base:allocation), then the
/// transmission phase. Requests are read one after another and served concurrently (a bounded number
/// in flight); replies are written whole under one lock, so they never interleave on the wire.
/// </summary>
internal sealed class NbdServerSession : IAsyncDisposable
{
    private const uint BaseAllocationContextId = 1;
    private const int MaxOptionLength = 1 << 20;
    private const int MaxInFlight = 8;
    private const uint EPERM = 1, EIO = 5, EINVAL = 22, ENOSPC = 28, ENOTSUP = 95;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly NbdExport _export;
    private readonly Action<string>? _log;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight, MaxInFlight);
    private readonly byte[] _header = new byte[NbdProtocol.RequestHeaderSize];
    private bool _structured;
    private bool _baseAllocation;
    private bool _noZeroes;

    public NbdServerSession(Socket socket, NbdExport export, Action<string>? log)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _export = export;
        _log = log;
    }

    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            if (await NegotiateAsync(ct).ConfigureAwait(false))
                await TransmitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or ObjectDisposedException or NbdException)
        {
            // The client went away or broke the protocol: this connection ends, the others go on.
            if (e is NbdException) _log?.Invoke($"client dropped: {e.Message}");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    // ---- handshake -------------------------------------------------------------------------

    /// <summary>Runs the option haggling; true when the client entered the transmission phase.</summary>
    private async Task<bool> NegotiateAsync(CancellationToken ct)
    {
        var greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdProtocol.InitMagic);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdProtocol.OptionMagic);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), NbdProtocol.HandshakeFixedNewstyle | NbdProtocol.HandshakeNoZeroes);
        await _stream.WriteAsync(greeting, ct).ConfigureAwait(false);
        await _stream.ReadExactlyAsync(_header.AsMemory(0, 4), ct).ConfigureAwait(false);
        uint clientFlags = BinaryPrimitives.ReadUInt32BigEndian(_header);
        if ((clientFlags & NbdProtocol.ClientFixedNewstyle) == 0) throw new NbdException("the client does not speak fixed newstyle");
        _noZeroes = (clientFlags & NbdProtocol.ClientNoZeroes) != 0;

        while (true)
        {
            await _stream.ReadExactlyAsync(_header.AsMemory(0, 16), ct).ConfigureAwait(false);
            if (BinaryPrimitives.ReadUInt64BigEndian(_header) != NbdProtocol.OptionMagic) throw new NbdException("bad option magic");
            var option = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(8));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(12));
            if (length > MaxOptionLength) throw new NbdException($"option {option} of {length} bytes is too long");
            var data = new byte[length];
            await _stream.ReadExactlyAsync(data, ct).ConfigureAwait(false);
            switch (option)
            {
                case NbdOption.ExportName:
                {
                    var name = Encoding.UTF8.GetString(data);
                    if (!_export.Answers(name)) return false; // The only answer this old option allows.
                    var reply = new byte[10 + (_noZeroes ? 0 : 124)];
                    BinaryPrimitives.WriteUInt64BigEndian(reply, (ulong)_export.Size);
                    BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), (ushort)TransmissionFlags);
                    await _stream.WriteAsync(reply, ct).ConfigureAwait(false);
                    return true;
                }
                case NbdOption.Abort:
                    await OptionReplyAsync(option, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
                    return false;
                case NbdOption.List:
                    if (length != 0) { await OptionErrorAsync(option, NbdOptionReply.ErrorInvalid, "NBD_OPT_LIST takes no data", ct).ConfigureAwait(false); break; }
                    var nameBytes = Encoding.UTF8.GetBytes(_export.Name);
                    var server = new byte[4 + nameBytes.Length];
                    BinaryPrimitives.WriteUInt32BigEndian(server, (uint)nameBytes.Length);
                    nameBytes.CopyTo(server, 4);
                    await OptionReplyAsync(option, NbdOptionReply.Server, server, ct).ConfigureAwait(false);
                    await OptionReplyAsync(option, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
                    break;
                case NbdOption.StructuredReply:
                    if (length != 0) await OptionErrorAsync(option, NbdOptionReply.ErrorInvalid, "NBD_OPT_STRUCTURED_REPLY takes no data", ct).ConfigureAwait(false);
                    else if (_structured) await OptionErrorAsync(option, NbdOptionReply.ErrorInvalid, "structured replies are already on", ct).ConfigureAwait(false);
                    else
                    {
                        _structured = true;
                        await OptionReplyAsync(option, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
                    }
                    break;
                case NbdOption.ListMetaContext:
                case NbdOption.SetMetaContext:
                    await MetaContextAsync(option, data, ct).ConfigureAwait(false);
                    break;
                case NbdOption.Info:
                case NbdOption.Go:
                    if (await InfoAsync(option, data, ct).ConfigureAwait(false) && option == NbdOption.Go) return true;
                    break;
                default:
                    await OptionErrorAsync(option, NbdOptionReply.ErrorUnsupported, $"option {(uint)option} is not supported by this server", ct).ConfigureAwait(false);
                    break;
            }
        }
    }

    private NbdTransmissionFlags TransmissionFlags =>
        NbdTransmissionFlags.HasFlags | NbdTransmissionFlags.SendFlush | NbdTransmissionFlags.SendFua | NbdTransmissionFlags.SendDf | NbdTransmissionFlags.CanMultiConn
        | (_export.IsWritable ? NbdTransmissionFlags.SendTrim | NbdTransmissionFlags.SendWriteZeroes : NbdTransmissionFlags.ReadOnly);

    /// <summary>NBD_OPT_INFO / NBD_OPT_GO; true when the export was accepted.</summary>
    private async Task<bool> InfoAsync(NbdOption option, byte[] data, CancellationToken ct)
    {
        if (!TryReadString(data, 0, out var name, out int at) || data.Length < at + 2
            || data.Length != at + 2 + 2 * BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at)))
        {
            await OptionErrorAsync(option, NbdOptionReply.ErrorInvalid, "malformed NBD_OPT_INFO/GO request", ct).ConfigureAwait(false);
            return false;
        }
        if (!_export.Answers(name))
        {
            await OptionErrorAsync(option, NbdOptionReply.ErrorUnknown, $"no export named '{name}': this server offers '{_export.Name}' (also as the default, empty name)", ct).ConfigureAwait(false);
            return false;
        }
        var export = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(export, (ushort)NbdInfo.Export);
        BinaryPrimitives.WriteUInt64BigEndian(export.AsSpan(2), (ulong)_export.Size);
        BinaryPrimitives.WriteUInt16BigEndian(export.AsSpan(10), (ushort)TransmissionFlags);
        await OptionReplyAsync(option, NbdOptionReply.Info, export, ct).ConfigureAwait(false);
        var blockSize = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(blockSize, (ushort)NbdInfo.BlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(6), (uint)Math.Min(_export.BlockSize, 1 << 16));
        BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(10), NbdProtocol.MaxPayload);
        await OptionReplyAsync(option, NbdOptionReply.Info, blockSize, ct).ConfigureAwait(false);
        await OptionReplyAsync(option, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>NBD_OPT_LIST/SET_META_CONTEXT: the one context served is base:allocation.</summary>
    private async Task MetaContextAsync(NbdOption option, byte[] data, CancellationToken ct)
    {
        if (!_structured)
        {
            await OptionErrorAsync(option, NbdOptionReply.ErrorInvalid, "meta contexts need structured replies first", ct).ConfigureAwait(false);
            return;
        }
        var queries = new List<string>();
        bool valid = TryReadString(data, 0, out var name, out int at) && data.Length >= at + 4;
        if (valid)
        {
            uint count = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
            at += 4;
            for (uint i = 0; i < count && valid; i++)
            {
                valid = TryReadString(data, at, out var query, out at);
                queries.Add(query);
            }
            valid &= at == data.Length;
        }
        if (!valid)
        {
            await OptionErrorAsync(option, NbdOptionReply.ErrorInvalid, "malformed meta context request", ct).ConfigureAwait(false);
            return;
        }
        if (!_export.Answers(name))
        {
            await OptionErrorAsync(option, NbdOptionReply.ErrorUnknown, $"no export named '{name}'", ct).ConfigureAwait(false);
            return;
        }
        bool wantsAllocation = queries.Any(q => q == NbdMetaContexts.BaseAllocation)
            || (option == NbdOption.ListMetaContext && (queries.Count == 0 || queries.Contains("base:")));
        if (option == NbdOption.SetMetaContext) _baseAllocation = wantsAllocation;
        if (wantsAllocation)
        {
            var context = Encoding.UTF8.GetBytes(NbdMetaContexts.BaseAllocation);
            var reply = new byte[4 + context.Length];
            BinaryPrimitives.WriteUInt32BigEndian(reply, BaseAllocationContextId);
            context.CopyTo(reply, 4);
            await OptionReplyAsync(option, NbdOptionReply.MetaContext, reply, ct).ConfigureAwait(false);
        }
        await OptionReplyAsync(option, NbdOptionReply.Ack, [], ct).ConfigureAwait(false);
    }

    private static bool TryReadString(byte[] data, int at, out string value, out int next)
    {
        value = "";
        next = at;
        if (data.Length < at + 4) return false;
        uint length = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
        if (length > data.Length - at - 4) return false;
        value = Encoding.UTF8.GetString(data, at + 4, (int)length);
        next = at + 4 + (int)length;
        return true;
    }

    private async Task OptionReplyAsync(NbdOption option, NbdOptionReply type, byte[] data, CancellationToken ct)
    {
        var reply = new byte[20 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(reply, NbdProtocol.OptionReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(8), (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(12), (uint)type);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(16), (uint)data.Length);
        data.CopyTo(reply, 20);
        await _stream.WriteAsync(reply, ct).ConfigureAwait(false);
    }

    private Task OptionErrorAsync(NbdOption option, NbdOptionReply error, string message, CancellationToken ct) =>
        OptionReplyAsync(option, error, Encoding.UTF8.GetBytes(message), ct);

    // ---- transmission ----------------------------------------------------------------------

    private async Task TransmitAsync(CancellationToken ct)
    {
        var running = new List<Task>();
        try
        {
            while (true)
            {
                await _stream.ReadExactlyAsync(_header, ct).ConfigureAwait(false);
                if (BinaryPrimitives.ReadUInt32BigEndian(_header) != NbdProtocol.RequestMagic) throw new NbdException("bad request magic");
                var flags = (NbdCommandFlags)BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(4));
                var command = (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(6));
                ulong cookie = BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(8));
                ulong offset = BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(16));
                uint length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(24));
                if (command == NbdCommand.Disconnect) break;

                byte[]? payload = null;
                if (command == NbdCommand.Write)
                {
                    if (length > NbdProtocol.MaxPayload) throw new NbdException($"write of {length} bytes exceeds the {NbdProtocol.MaxPayload}-byte limit");
                    payload = ArrayPool<byte>.Shared.Rent((int)length);
                    await _stream.ReadExactlyAsync(payload.AsMemory(0, (int)length), ct).ConfigureAwait(false);
                }
                await _inFlight.WaitAsync(ct).ConfigureAwait(false);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(async () =>
                {
                    try { await ServeAsync(command, flags, cookie, offset, length, payload, ct).ConfigureAwait(false); }
                    finally
                    {
                        if (payload is not null) ArrayPool<byte>.Shared.Return(payload);
                        _inFlight.Release();
                    }
                }, CancellationToken.None));
            }
        }
        finally
        {
            // Replies to requests already taken are still sent (a disconnect waits for them).
            try { await Task.WhenAll(running).ConfigureAwait(false); } catch { /* the connection is going anyway */ }
        }
    }

    private async Task ServeAsync(NbdCommand command, NbdCommandFlags flags, ulong cookie, ulong offset, uint length, byte[]? payload, CancellationToken ct)
    {
        ulong size = (ulong)_export.Size;
        bool inRange = offset <= size && length <= size - offset;
        try
        {
            switch (command)
            {
                case NbdCommand.Read:
                    if (!inRange || length > NbdProtocol.MaxPayload) { await ErrorAsync(cookie, EINVAL, "read outside the export or too large", ct).ConfigureAwait(false); return; }
                    await ReadReplyAsync(cookie, (long)offset, (int)length, ct).ConfigureAwait(false);
                    return;
                case NbdCommand.Write:
                case NbdCommand.WriteZeroes:
                case NbdCommand.Trim:
                    if (!_export.IsWritable) { await ErrorAsync(cookie, EPERM, "the export is read-only (serve it with --writable)", ct).ConfigureAwait(false); return; }
                    if (!inRange) { await ErrorAsync(cookie, ENOSPC, "write beyond the end of the export", ct).ConfigureAwait(false); return; }
                    if (command == NbdCommand.Trim) await _export.TrimAsync((long)offset, length, ct).ConfigureAwait(false);
                    else if (command == NbdCommand.Write) await _export.WriteAsync((long)offset, new ReadOnlyMemory<byte>(payload, 0, (int)length), length, ct).ConfigureAwait(false);
                    else await _export.WriteAsync((long)offset, null, length, ct).ConfigureAwait(false);
                    if (flags.HasFlag(NbdCommandFlags.Fua)) _export.Flush();
                    await DoneAsync(cookie, ct).ConfigureAwait(false);
                    return;
                case NbdCommand.Flush:
                    _export.Flush();
                    await DoneAsync(cookie, ct).ConfigureAwait(false);
                    return;
                case NbdCommand.BlockStatus:
                    if (!_baseAllocation) { await ErrorAsync(cookie, EINVAL, "no meta context was selected", ct).ConfigureAwait(false); return; }
                    if (!inRange || length == 0) { await ErrorAsync(cookie, EINVAL, "block status outside the export", ct).ConfigureAwait(false); return; }
                    await BlockStatusReplyAsync(cookie, (long)offset, length, flags.HasFlag(NbdCommandFlags.RequestOne), ct).ConfigureAwait(false);
                    return;
                default:
                    await ErrorAsync(cookie, ENOTSUP ,$"command {(ushort)command} is not supported", ct).ConfigureAwait(false);
                    return;
            }
        }
        catch (Exception e) when (e is not (OperationCanceledException or ObjectDisposedException))
        {
            // A repository or overlay failure (corrupt pack, disk full) fails this request with EIO and
            // the server says why; the connection and the other requests go on. If the failure was the
            // connection itself, this reply fails too and the session ends.
            _log?.Invoke($"{command} at {offset} (+{length}) failed: {e.Message}");
            await ErrorAsync(cookie, e is IOException { HResult: 28 } ? ENOSPC : EIO, e.Message, ct).ConfigureAwait(false);
        }
    }

    private async Task ReadReplyAsync(ulong cookie, long offset, int length, CancellationToken ct)
    {
        if (_structured && _export.IsHole(offset, length))
        {
            var hole = new byte[NbdProtocol.StructuredReplyHeaderSize + 12];
            WriteChunkHeader(hole, NbdReplyType.OffsetHole, cookie, 12);
            BinaryPrimitives.WriteUInt64BigEndian(hole.AsSpan(20), (ulong)offset);
            BinaryPrimitives.WriteUInt32BigEndian(hole.AsSpan(28), (uint)length);
            await SendAsync(hole, ct).ConfigureAwait(false);
            return;
        }
        int headerSize = _structured ? NbdProtocol.StructuredReplyHeaderSize + 8 : NbdProtocol.SimpleReplyHeaderSize;
        var buffer = ArrayPool<byte>.Shared.Rent(headerSize + length);
        try
        {
            await _export.ReadAsync(offset, buffer.AsMemory(headerSize, length), ct).ConfigureAwait(false);
            if (_structured)
            {
                WriteChunkHeader(buffer, NbdReplyType.OffsetData, cookie, (uint)(8 + length));
                BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(20), (ulong)offset);
            }
            else WriteSimpleHeader(buffer, 0, cookie);
            await SendAsync(buffer.AsMemory(0, headerSize + length), ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task BlockStatusReplyAsync(ulong cookie, long offset, uint length, bool one, CancellationToken ct)
    {
        var descriptors = new List<(uint Length, uint Flags)>();
        long end = offset + length, at = offset;
        int bs = _export.BlockSize;
        while (at < end)
        {
            int block = (int)(at / bs);
            uint flags = _export.AllocationFlags(block);
            long runEnd = Math.Min(end, (long)(block + 1) * bs);
            if (descriptors.Count > 0 && descriptors[^1].Flags == flags) descriptors[^1] = (descriptors[^1].Length + (uint)(runEnd - at), flags);
            else
            {
                if (one && descriptors.Count == 1) break;
                descriptors.Add(((uint)(runEnd - at), flags));
            }
            at = runEnd;
        }
        int payload = 4 + 8 * descriptors.Count;
        var reply = new byte[NbdProtocol.StructuredReplyHeaderSize + payload];
        WriteChunkHeader(reply, NbdReplyType.BlockStatus, cookie, (uint)payload);
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(20), BaseAllocationContextId);
        for (int i = 0; i < descriptors.Count; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(24 + 8 * i), descriptors[i].Length);
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(28 + 8 * i), descriptors[i].Flags);
        }
        await SendAsync(reply, ct).ConfigureAwait(false);
    }

    private Task DoneAsync(ulong cookie, CancellationToken ct)
    {
        var reply = new byte[_structured ? NbdProtocol.StructuredReplyHeaderSize : NbdProtocol.SimpleReplyHeaderSize];
        if (_structured) WriteChunkHeader(reply, NbdReplyType.None, cookie, 0);
        else WriteSimpleHeader(reply, 0, cookie);
        return SendAsync(reply, ct);
    }

    private Task ErrorAsync(ulong cookie, uint error, string message, CancellationToken ct)
    {
        if (!_structured)
        {
            var simple = new byte[NbdProtocol.SimpleReplyHeaderSize];
            WriteSimpleHeader(simple, error, cookie);
            return SendAsync(simple, ct);
        }
        var text = Encoding.UTF8.GetBytes(message.Length > 1000 ? message[..1000] : message);
        var reply = new byte[NbdProtocol.StructuredReplyHeaderSize + 6 + text.Length];
        WriteChunkHeader(reply, NbdReplyType.Error, cookie, (uint)(6 + text.Length));
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(20), error);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(24), (ushort)text.Length);
        text.CopyTo(reply, 26);
        return SendAsync(reply, ct);
    }

    private static void WriteChunkHeader(Span<byte> buffer, NbdReplyType type, ulong cookie, uint length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, NbdProtocol.StructuredReplyMagic);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], NbdReplyFlags.Done);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], cookie);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[16..], length);
    }

    private static void WriteSimpleHeader(Span<byte> buffer, uint error, ulong cookie)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, NbdProtocol.SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], error);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], cookie);
    }

    private async Task SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try { await _stream.WriteAsync(data, ct).ConfigureAwait(false); }
        finally { _sendLock.Release(); }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return _stream.DisposeAsync();
    }
}
