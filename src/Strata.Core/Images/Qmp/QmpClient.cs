using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Images.Qmp;

/// <summary>
/// A QEMU Machine Protocol client on a Unix socket (QEMU's docs/interop/qmp-spec): read the
/// greeting, leave capabilities negotiation with <c>qmp_capabilities</c>, then one command at a
/// time, each with an <c>id</c>; asynchronous events that arrive in between are skipped (Strata
/// polls state instead of waiting for events, so a missed event cannot hang it). QEMU serves one
/// client per monitor socket, which is why a missing greeting is reported as "busy".
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    /// <summary>How long one command may take; generous, for a loaded machine. Commands Strata sends return at once.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private long _lastId;
    private bool _broken;

    private QmpClient(string path, Socket socket)
    {
        SocketPath = path;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, new UTF8Encoding(false));
    }

    public string SocketPath { get; }

    /// <summary>True once the connection failed: QEMU may have exited, and no further command is sent.</summary>
    public bool IsBroken => _broken;

    public static async Task<QmpClient> ConnectAsync(string socketPath, CancellationToken ct)
    {
        if (!File.Exists(socketPath))
            throw new QmpConnectionException($"no QMP socket at {socketPath} (start QEMU with -qmp unix:{socketPath},server=on,wait=off)");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new QmpConnectionException(e.SocketErrorCode == SocketError.ConnectionRefused
                ? $"nothing listens on the QMP socket {socketPath} (has QEMU exited?)"
                : $"cannot connect to the QMP socket {socketPath}: {e.Message}", e);
        }
        var client = new QmpClient(socketPath, socket);
        try
        {
            await client.ReadGreetingAsync(ct).ConfigureAwait(false);
            await client.ExecuteAsync("qmp_capabilities", null, ct).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ReadGreetingAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        JsonObject? greeting;
        try
        {
            greeting = await ReadMessageAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new QmpConnectionException($"QEMU did not greet on {SocketPath} within 30 s: QEMU serves one QMP client per socket, so another client may be connected");
        }
        if (greeting?["QMP"] is null)
            throw new QmpConnectionException($"{SocketPath} is not a QMP monitor socket (its first message has no \"QMP\" greeting)");
    }

    /// <summary>Runs one command; returns its "return" value, or throws <see cref="QmpException"/> with QEMU's error.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, CancellationToken ct)
    {
        await _oneAtATime.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_broken) throw new QmpConnectionException($"the QMP connection to {SocketPath} is closed (did QEMU exit?)");
            string id = "strata-" + Interlocked.Increment(ref _lastId).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var request = new JsonObject { ["execute"] = command, ["id"] = id };
            if (arguments is not null) request["arguments"] = arguments;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(CommandTimeout);
            try
            {
                await _stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToJsonString() + "\n"), timeout.Token).ConfigureAwait(false);
                while (true)
                {
                    var reply = await ReadMessageAsync(timeout.Token).ConfigureAwait(false)
                        ?? throw new QmpConnectionException($"QEMU closed the QMP connection {SocketPath} during {command} (did it exit?)");
                    // Events ({"event": …}) come at any time; a reply without our id belongs to nobody waiting now.
                    if (reply["event"] is not null || (string?)reply["id"] != id) continue;
                    if (reply["error"] is JsonObject error)
                        throw new QmpException(command, (string?)error["class"] ?? "GenericError", (string?)error["desc"] ?? "(no description)");
                    return reply["return"];
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                _broken = true;
                throw new QmpConnectionException($"QEMU did not answer {command} on {SocketPath} within {CommandTimeout.TotalSeconds:0} s");
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                _broken = true;
                throw new QmpConnectionException($"the QMP connection to {SocketPath} failed during {command} (did QEMU exit?): {e.Message}", e);
            }
            catch (OperationCanceledException)
            {
                // Cancelled mid-reply: the next line read would be this command's late answer, so the stream is unusable.
                _broken = true;
                throw;
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>One JSON object per line (QMP's framing); null at end of stream.</summary>
    private async Task<JsonObject?> ReadMessageAsync(CancellationToken ct)
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync(ct).ConfigureAwait(false);
            if (line is null)
            {
                _broken = true;
                return null;
            }
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                return JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException e)
            {
                _broken = true;
                throw new QmpConnectionException($"{SocketPath} sent something that is not QMP: {e.Message}");
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _broken = true;
        _reader.Dispose();
        _stream.Dispose();
        _socket.Dispose();
        _oneAtATime.Dispose();
        return ValueTask.CompletedTask;
    }
}
