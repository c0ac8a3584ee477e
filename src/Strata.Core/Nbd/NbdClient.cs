using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Strata.Nbd;

/// <summary>
/// A client for one NBD export: fixed-newstyle negotiation with structured replies, meta contexts
/// (<c>base:allocation</c>, <c>qemu:dirty-bitmap:NAME</c>) and NBD_OPT_GO, then READ, WRITE,
/// WRITE_ZEROES, FLUSH and BLOCK_STATUS. One request is on the wire at a time (callers that want
/// parallelism read large ranges and fan the work out after). After any transport failure or
/// protocol violation the client is broken and every later call fails at once.
/// </summary>
public sealed partial class NbdClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _header = new byte[64];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, uint> _contexts = new(StringComparer.Ordinal);
    private ulong _nextCookie = 1;
    private bool _structured;
    private bool _broken;
    private bool _disposed;

    private NbdClient(Socket socket, NbdAddress address)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Address = address;
    }

    public NbdAddress Address { get; }

    /// <summary>Size of the export in bytes.</summary>
    public long Size { get; private set; }

    public NbdTransmissionFlags Flags { get; private set; }

    public bool IsReadOnly => Flags.HasFlag(NbdTransmissionFlags.ReadOnly);

    /// <summary>Preferred request granularity the server announced (NBD_INFO_BLOCK_SIZE), or 0.</summary>
    public int PreferredBlockSize { get; private set; }

    /// <summary>Whether the server agreed to a meta context of this name (it ignores names it does not know).</summary>
    public bool HasMetaContext(string name) => _contexts.ContainsKey(name);

    /// <summary>
    /// Connects and negotiates. <paramref name="metaContexts"/> are requested with
    /// NBD_OPT_SET_META_CONTEXT; check <see cref="HasMetaContext"/> for those the server granted.
    /// </summary>
    public static async Task<NbdClient> ConnectAsync(NbdAddress address, IReadOnlyList<string> metaContexts, CancellationToken ct = default)
    {
        var socket = address.EndPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(address.EndPoint, ct).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new NbdException($"cannot connect to the NBD server at {address}: {e.Message}", e);
        }
        var client = new NbdClient(socket, address);
        try
        {
            await client.NegotiateAsync(metaContexts, ct).ConfigureAwait(false);
            return client;
        }
        catch
        {
            client._broken = true;
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // ---- negotiation -----------------------------------------------------------------------

    private async Task NegotiateAsync(IReadOnlyList<string> metaContexts, CancellationToken ct)
    {
        await ReceiveAsync(_header.AsMemory(0, 18), ct).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt64BigEndian(_header) != NbdProtocol.InitMagic)
            throw Violation("the peer is not an NBD server (no NBDMAGIC greeting)");
        if (BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(8)) != NbdProtocol.OptionMagic)
            throw Violation("the server speaks only the old-style handshake; Strata needs fixed newstyle");
        ushort serverFlags = BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(16));
        if ((serverFlags & NbdProtocol.HandshakeFixedNewstyle) == 0)
            throw Violation("the server does not offer the fixed-newstyle handshake");
        uint clientFlags = NbdProtocol.ClientFixedNewstyle | ((serverFlags & NbdProtocol.HandshakeNoZeroes) != 0 ? NbdProtocol.ClientNoZeroes : 0);
        BinaryPrimitives.WriteUInt32BigEndian(_header, clientFlags);
        await SendAsync(_header.AsMemory(0, 4), ct).ConfigureAwait(false);

        var reply = await OptionAsync(NbdOption.StructuredReply, [], ct).ConfigureAwait(false);
        _structured = reply.Type == NbdOptionReply.Ack;
        if (!_structured && metaContexts.Count > 0)
            throw new NbdException($"the NBD server at {Address} does not support structured replies, so it cannot report block status");

        if (metaContexts.Count > 0) await SetMetaContextsAsync(metaContexts, ct).ConfigureAwait(false);
        await GoAsync(ct).ConfigureAwait(false);
    }

    private async Task SetMetaContextsAsync(IReadOnlyList<string> names, CancellationToken ct)
    {
        var export = Encoding.UTF8.GetBytes(Address.ExportName);
        var payload = new List<byte>();
        AppendU32(payload, (uint)export.Length);
        payload.AddRange(export);
        AppendU32(payload, (uint)names.Count);
        foreach (var name in names)
        {
            var bytes = Encoding.UTF8.GetBytes(name);
            AppendU32(payload, (uint)bytes.Length);
            payload.AddRange(bytes);
        }
        await SendOptionAsync(NbdOption.SetMetaContext, payload.ToArray(), ct).ConfigureAwait(false);
        while (true)
        {
            var reply = await ReceiveOptionReplyAsync(NbdOption.SetMetaContext, ct).ConfigureAwait(false);
            if (reply.Type == NbdOptionReply.Ack) return;
            if (reply.Type != NbdOptionReply.MetaContext || reply.Data.Length < 4)
                throw OptionFailure("selecting meta contexts", reply);
            uint id = BinaryPrimitives.ReadUInt32BigEndian(reply.Data);
            _contexts[Encoding.UTF8.GetString(reply.Data, 4, reply.Data.Length - 4)] = id;
        }
    }

    private async Task GoAsync(CancellationToken ct)
    {
        var export = Encoding.UTF8.GetBytes(Address.ExportName);
        var payload = new byte[4 + export.Length + 2 + 2];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)export.Length);
        export.CopyTo(payload, 4);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(4 + export.Length), 1);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(6 + export.Length), (ushort)NbdInfo.BlockSize);
        await SendOptionAsync(NbdOption.Go, payload, ct).ConfigureAwait(false);
        bool sawExport = false;
        while (true)
        {
            var reply = await ReceiveOptionReplyAsync(NbdOption.Go, ct).ConfigureAwait(false);
            if (reply.Type == NbdOptionReply.Ack)
            {
                if (!sawExport) throw Violation("NBD_OPT_GO was acknowledged without NBD_INFO_EXPORT");
                return;
            }
            if (reply.Type != NbdOptionReply.Info)
                throw OptionFailure(Address.ExportName.Length > 0 ? $"opening export '{Address.ExportName}'" : "opening the default export", reply);
            if (reply.Data.Length < 2) throw Violation("an NBD_REP_INFO reply is too short");
            var info = (NbdInfo)BinaryPrimitives.ReadUInt16BigEndian(reply.Data);
            if (info == NbdInfo.Export && reply.Data.Length >= 12)
            {
                long size = (long)BinaryPrimitives.ReadUInt64BigEndian(reply.Data.AsSpan(2));
                if (size < 0) throw Violation("the export size is beyond 2^63");
                Size = size;
                Flags = (NbdTransmissionFlags)BinaryPrimitives.ReadUInt16BigEndian(reply.Data.AsSpan(10));
                sawExport = true;
            }
            else if (info == NbdInfo.BlockSize && reply.Data.Length >= 14)
            {
                PreferredBlockSize = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(reply.Data.AsSpan(6)));
            }
        }
    }

    private readonly record struct OptionReply(NbdOptionReply Type, byte[] Data);

    private async Task<OptionReply> OptionAsync(NbdOption option, byte[] payload, CancellationToken ct)
    {
        await SendOptionAsync(option, payload, ct).ConfigureAwait(false);
        return await ReceiveOptionReplyAsync(option, ct).ConfigureAwait(false);
    }

    private async Task SendOptionAsync(NbdOption option, byte[] payload, CancellationToken ct)
    {
        var message = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt64BigEndian(message, NbdProtocol.OptionMagic);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(12), (uint)payload.Length);
        payload.CopyTo(message, 16);
        await SendAsync(message, ct).ConfigureAwait(false);
    }

    private async Task<OptionReply> ReceiveOptionReplyAsync(NbdOption option, CancellationToken ct)
    {
        await ReceiveAsync(_header.AsMemory(0, 20), ct).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt64BigEndian(_header) != NbdProtocol.OptionReplyMagic) throw Violation("bad option reply magic");
        if (BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(8)) != (uint)option) throw Violation($"a reply to another option than {option}");
        var type = (NbdOptionReply)BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(12));
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(16));
        if (length > NbdProtocol.MaxOptionReplyLength) throw Violation($"an option reply of {length} bytes");
        var data = new byte[length];
        await ReceiveAsync(data, ct).ConfigureAwait(false);
        return new OptionReply(type, data);
    }

    private NbdException OptionFailure(string what, OptionReply reply)
    {
        string message = reply.Data.Length > 0 ? $": {Encoding.UTF8.GetString(reply.Data)}" : "";
        string reason = reply.Type switch
        {
            NbdOptionReply.ErrorUnknown => "no such export",
            NbdOptionReply.ErrorUnsupported => "not supported by the server",
            NbdOptionReply.ErrorPolicy => "refused by the server's policy",
            NbdOptionReply.ErrorTlsRequired => "the server requires TLS, which Strata does not speak yet",
            NbdOptionReply.ErrorShutdown => "the server is shutting down",
            _ => $"server answered {reply.Type}",
        };
        return new NbdException($"NBD server at {Address}: {what} failed: {reason}{message}");
    }

    private static void AppendU32(List<byte> list, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        list.AddRange(b);
    }

    // ---- transport -------------------------------------------------------------------------

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        try
        {
            await _stream.WriteAsync(data, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw Lost(e);
        }
    }

    private async ValueTask ReceiveAsync(Memory<byte> buffer, CancellationToken ct)
    {
        try
        {
            await _stream.ReadExactlyAsync(buffer, ct).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            _broken = true;
            throw new NbdException($"the NBD server at {Address} closed the connection", e);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw Lost(e);
        }
    }

    private NbdException Lost(Exception e)
    {
        _broken = true;
        return new NbdException($"connection to the NBD server at {Address} lost: {e.Message}", e);
    }

    private NbdException Violation(string what)
    {
        _broken = true;
        return new NbdException($"NBD server at {Address} broke the protocol: {what}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_broken)
        {
            try
            {
                // NBD_CMD_DISC has no reply; the server flushes and closes.
                WriteRequestHeader(NbdCommand.Disconnect, NbdCommandFlags.None, 0, 0);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _stream.WriteAsync(_header.AsMemory(0, NbdProtocol.RequestHeaderSize), timeout.Token).ConfigureAwait(false);
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        }
        await _stream.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
