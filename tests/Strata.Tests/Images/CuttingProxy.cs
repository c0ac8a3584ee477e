using System.Net.Sockets;

namespace Strata.Tests.Images;

/// <summary>
/// A fault-injecting stand-in for a network path to an NBD server: forwards a Unix-socket
/// connection to the real server and cuts it after the server has sent a given number of bytes,
/// as when the server or its host vanishes in the middle of a transfer.
/// </summary>
public sealed class CuttingProxy : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _stop = new();

    public CuttingProxy(string upstreamSocket, long cutAfterServerBytes)
    {
        Socket = Path.Combine(Path.GetDirectoryName(upstreamSocket)!, $"proxy-{Guid.NewGuid():N}.sock");
        _listener.Bind(new UnixDomainSocketEndPoint(Socket));
        _listener.Listen();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client;
                try { client = await _listener.AcceptAsync(_stop.Token); }
                catch (Exception) { return; }
                _ = ServeAsync(client, upstreamSocket, cutAfterServerBytes);
            }
        });
    }

    public string Socket { get; }
    public string Url => $"nbd+unix:///?socket={Socket}";

    private async Task ServeAsync(Socket client, string upstreamSocket, long limit)
    {
        using var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using (client)
        {
            await upstream.ConnectAsync(new UnixDomainSocketEndPoint(upstreamSocket));
            var toServer = Pump(client, upstream, long.MaxValue);
            var toClient = Pump(upstream, client, limit);
            await Task.WhenAny(toServer, toClient);
        }
    }

    private static async Task Pump(Socket from, Socket to, long limit)
    {
        var buffer = new byte[64 << 10];
        long sent = 0;
        try
        {
            while (sent < limit)
            {
                int n = await from.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit - sent)));
                if (n == 0) return;
                await to.SendAsync(buffer.AsMemory(0, n));
                sent += n;
            }
        }
        catch (SocketException) { }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { File.Delete(Socket); } catch (IOException) { }
    }
}
