using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Strata.Errors;

namespace Strata.Nbd;

/// <summary>
/// An NBD server for one <see cref="NbdExport"/> on a TCP address or a Unix socket: every
/// accepted connection gets its own <see cref="NbdServerSession"/>, so several clients read (and,
/// when writable, write the shared overlay) at once. Stopping closes the listener and every
/// connection, and removes the Unix socket file; the export (and its overlay) belongs to the caller.
/// </summary>
public sealed class NbdServer : IAsyncDisposable
{
    private readonly NbdExport _export;
    private readonly Socket _listener;
    private readonly string? _socketPath;
    private readonly ConcurrentDictionary<NbdServerSession, Task> _sessions = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;
    private int _connections;

    private NbdServer(NbdExport export, Socket listener, string? socketPath, EndPoint boundTo)
    {
        _export = export;
        _listener = listener;
        _socketPath = socketPath;
        EndPoint = boundTo;
    }

    public EndPoint EndPoint { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public Action<string>? Log { get; set; }

    /// <summary>Binds and listens (port 0 picks a free port; see <see cref="EndPoint"/>); call <see cref="Start"/> to accept.</summary>
    public static NbdServer Listen(NbdExport export, EndPoint endPoint)
    {
        Socket socket;
        string? socketPath = null;
        if (endPoint is UnixDomainSocketEndPoint unix)
        {
            socketPath = unix.ToString();
            if (File.Exists(socketPath)) throw new UsageException($"{socketPath} already exists: another server may be using it (remove it if not)");
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        }
        else socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (socketPath is null) socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endPoint);
            socket.Listen(64);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new UsageException($"cannot listen on {Describe(endPoint)}: {e.Message}");
        }
        return new NbdServer(export, socket, socketPath, socket.LocalEndPoint ?? endPoint);
    }

    public static string Describe(EndPoint endPoint) => endPoint is UnixDomainSocketEndPoint u ? $"unix socket {u}" : endPoint.ToString()!;

    public void Start() => _acceptLoop = Task.Run(AcceptAsync);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            if (client.AddressFamily != AddressFamily.Unix) client.NoDelay = true;
            Interlocked.Increment(ref _connections);
            var session = new NbdServerSession(client, _export, Log);
            _sessions[session] = Task.Run(async () =>
            {
                try { await session.RunAsync(_stop.Token).ConfigureAwait(false); }
                finally
                {
                    await session.DisposeAsync().ConfigureAwait(false);
                    _sessions.TryRemove(session, out _);
                }
            });
        }
    }

    /// <summary>Waits until <paramref name="ct"/> is cancelled (Ctrl-C, SIGTERM), then stops.</summary>
    public async Task RunUntilCancelledAsync(CancellationToken ct)
    {
        // ForceYielding: the rest must not run inline in the signal handler's Cancel() call, or the
        // command could return and its caller dispose that very CancellationTokenSource under it.
        await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _listener.Dispose();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        foreach (var session in _sessions.Keys) await session.DisposeAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_sessions.Values).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        if (_socketPath is not null)
        {
            try { File.Delete(_socketPath); } catch (IOException) { }
        }
    }
}
