using Strata.Errors;

namespace Strata.Images.Qmp;

/// <summary>
/// A running VM's disk as a backup source: <c>qmp:///PATH/TO/QMP.SOCKET?node=NODE[&amp;scratch=DIR]</c>,
/// the VM's QMP monitor socket and the block node (or drive/device name) of the disk. scratch: where
/// the temporary overlay goes (QEMU must be able to create files there); default a private temporary folder.
/// </summary>
public sealed record QmpSource(string SocketPath, string Node, string? ScratchDirectory, string Text)
{
    public const string Scheme = "qmp";
    private const string Form = "qmp:///PATH/TO/QMP.SOCKET?node=NODE";

    public static bool LooksLikeQmp(string text) => text.StartsWith(Scheme + "://", StringComparison.OrdinalIgnoreCase);

    public static QmpSource Parse(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || !string.Equals(uri.Scheme, Scheme, StringComparison.OrdinalIgnoreCase) || uri.Host.Length > 0)
            throw new UsageException($"'{text}' is not a running VM's disk ({Form})");
        var socket = Uri.UnescapeDataString(uri.AbsolutePath);
        if (socket.Length <= 1) throw new UsageException($"'{text}': no QMP socket path ({Form})");
        string? node = null, scratch = null;
        foreach (var part in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            string key = eq < 0 ? part : part[..eq], value = eq < 0 ? "" : Uri.UnescapeDataString(part[(eq + 1)..]);
            switch (key)
            {
                case "node": node = value; break;
                case "scratch": scratch = value; break;
                default: throw new UsageException($"'{text}': unknown parameter '{key}' (node=NODE, scratch=DIR)");
            }
        }
        if (string.IsNullOrEmpty(node)) throw new UsageException($"'{text}': name the disk's block node or drive with ?node=NODE ({Form})");
        return new QmpSource(socket, node, string.IsNullOrEmpty(scratch) ? null : scratch, text);
    }
}
