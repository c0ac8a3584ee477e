using System.Net;
using System.Net.Sockets;
using Strata.Errors;

namespace Strata.Nbd;

/// <summary>
/// Where an NBD export is: <c>nbd://HOST[:PORT]/EXPORT</c> (TCP, port 10809 by default) or
/// <c>nbd+unix:///EXPORT?socket=PATH</c> (a Unix socket), the URI forms of the NBD project's
/// uri.md that qemu and libnbd accept. An empty export name selects the server's default export.
/// </summary>
public sealed record NbdAddress(EndPoint EndPoint, string ExportName, string Display)
{
    public const int DefaultPort = 10809;

    public static bool LooksLikeNbd(string text) =>
        text.StartsWith("nbd://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("nbd+unix://", StringComparison.OrdinalIgnoreCase);

    public static NbdAddress ForUnixSocket(string socketPath, string exportName = "") =>
        new(new UnixDomainSocketEndPoint(socketPath), exportName, $"nbd+unix:///{exportName}?socket={socketPath}");

    public static NbdAddress Parse(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
            throw new UsageException($"'{text}' is not an NBD address (nbd://HOST:PORT/EXPORT or nbd+unix:///EXPORT?socket=PATH)");
        var export = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        switch (uri.Scheme.ToLowerInvariant())
        {
            case "nbd":
                if (string.IsNullOrEmpty(uri.Host)) throw new UsageException($"'{text}': no host in the NBD address");
                int port = uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port;
                EndPoint endPoint = IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(uri.Host, port);
                return new NbdAddress(endPoint, export, text);
            case "nbd+unix":
                var socket = QueryValue(uri.Query, "socket")
                    ?? throw new UsageException($"'{text}': an nbd+unix address needs ?socket=PATH");
                return new NbdAddress(new UnixDomainSocketEndPoint(socket), export, text);
            default:
                throw new UsageException($"'{text}': unsupported NBD scheme '{uri.Scheme}' (use nbd:// or nbd+unix://)");
        }
    }

    private static string? QueryValue(string query, string name)
    {
        foreach (var part in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq > 0 && part[..eq] == name) return Uri.UnescapeDataString(part[(eq + 1)..]);
        }
        return null;
    }

    public override string ToString() => Display;
}
