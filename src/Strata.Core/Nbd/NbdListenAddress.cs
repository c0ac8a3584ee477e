using System.Net;
using System.Net.Sockets;
using Strata.Errors;

namespace Strata.Nbd;

/// <summary>
/// Where <c>strata serve nbd --listen</c> listens: <c>HOST:PORT</c> (IPv4, <c>[IPv6]:PORT</c>, or a
/// name), <c>HOST</c> alone for port 10809, or <c>unix:PATH</c> for a Unix socket; and the
/// nbd:// URL clients use to reach it.
/// </summary>
public static class NbdListenAddress
{
    public const string Default = "127.0.0.1:10809";

    public static EndPoint Parse(string text)
    {
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = text["unix:".Length..];
            if (path.Length == 0) throw new UsageException("--listen unix:PATH needs a socket path");
            return new UnixDomainSocketEndPoint(Path.GetFullPath(path));
        }
        string host = text;
        int port = NbdAddress.DefaultPort;
        int colon = text.LastIndexOf(':');
        if (colon >= 0 && (text[0] != '[' || text.IndexOf(']') < colon))
        {
            host = text[..colon];
            if (!int.TryParse(text[(colon + 1)..], out port) || port < 0 || port > 65535)
                throw new UsageException($"--listen '{text}': '{text[(colon + 1)..]}' is not a port number (0-65535)");
        }
        host = host.Trim('[', ']');
        if (host.Length == 0) throw new UsageException($"--listen '{text}': no host; use e.g. 127.0.0.1:10809, 0.0.0.0:10809 or unix:PATH");
        if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
        try
        {
            var resolved = Dns.GetHostAddresses(host);
            if (resolved.Length == 0) throw new UsageException($"--listen '{text}': host '{host}' has no address");
            return new IPEndPoint(resolved[0], port);
        }
        catch (SocketException e)
        {
            throw new UsageException($"--listen '{text}': cannot resolve host '{host}': {e.Message}");
        }
    }

    /// <summary>The URL of the default export on <paramref name="endPoint"/>, as qemu and libnbd take it.</summary>
    public static string UrlOf(EndPoint endPoint) => endPoint switch
    {
        UnixDomainSocketEndPoint unix => $"nbd+unix:///?socket={unix}",
        IPEndPoint { Address.AddressFamily: AddressFamily.InterNetworkV6 } ip => $"nbd://[{(ip.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : ip.Address)}]:{ip.Port}",
        IPEndPoint ip => $"nbd://{(ip.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : ip.Address)}:{ip.Port}",
        _ => endPoint.ToString()!,
    };
}
