using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Strata.Errors;
using Strata.Nbd;

namespace Strata.Images.Qmp;

/// <summary>
/// A point-in-time view of a running VM's disk, served over NBD by QEMU itself (image fleecing, as
/// libvirt's pull backup does): a temporary qcow2 overlay whose backing is the disk, plus a
/// <c>blockdev-backup sync=none</c> job that copies each block into the overlay before the guest
/// overwrites it. The job starts inside the caller's transaction, so the overlay shows the disk as
/// it was at that instant while the guest keeps writing. QEMU's NBD server exports the overlay
/// read-only on a Unix socket; dirty bitmaps of the disk are found through the overlay's backing
/// chain. Everything is removed again on dispose, and <see cref="RemoveLeftoversAsync"/> removes
/// what a Strata that was killed left behind.
/// </summary>
public sealed class QmpFleece : IAsyncDisposable
{
    // Fixed names: one Strata backup per VM at a time (QEMU has only one NBD server anyway), and a
    // later run recognises what a killed run left.
    public const string NodeName = "strata-fleece";
    public const string JobId = "strata-fleece";
    public const string ExportId = "strata-export";
    private const string ExportName = "strata";
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(120);

    private readonly QmpClient _qmp;
    private readonly string _scratchFile;
    private readonly string _socket;
    private readonly DirectoryInfo? _privateDirectory;
    private bool _serverStarted;

    private QmpFleece(QmpClient qmp, string node, string scratchFile, string socket, DirectoryInfo? privateDirectory)
    {
        _qmp = qmp;
        Node = node;
        _scratchFile = scratchFile;
        _socket = socket;
        _privateDirectory = privateDirectory;
    }

    public string Node { get; }

    /// <summary>The transaction action that fixes the point in time: start copying before writes.</summary>
    public JsonObject StartAction => QmpActions.FleeceBackup(Node, NodeName, JobId);

    /// <summary>
    /// Adds the overlay (not yet capturing anything). Its file goes into <paramref name="scratchDirectory"/>
    /// (QEMU must be able to create files there, e.g. when it runs as another user), else into a new private temporary folder.
    /// </summary>
    public static async Task<QmpFleece> CreateAsync(QmpClient qmp, QmpBlockNode node, string? scratchDirectory, CancellationToken ct)
    {
        DirectoryInfo? privateDirectory = scratchDirectory is null ? Directory.CreateTempSubdirectory("strata-fleece-") : null;
        string folder = privateDirectory?.FullName ?? Path.GetFullPath(scratchDirectory!);
        if (!Directory.Exists(folder)) throw new UsageException($"scratch folder {folder} does not exist");
        string unique = privateDirectory is null ? "-" + Guid.NewGuid().ToString("N")[..12] : "";
        var fleece = new QmpFleece(qmp, node.NodeName, Path.Combine(folder, $"strata-fleece{unique}.qcow2"), Path.Combine(folder, $"strata-nbd{unique}.sock"), privateDirectory);
        try
        {
            // Only blocks the guest overwrites during the backup land in it: it stays small.
            await QemuTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", fleece._scratchFile, node.VirtualSize.ToString(CultureInfo.InvariantCulture)],
                $"creating the scratch overlay {fleece._scratchFile}", ct).ConfigureAwait(false);
            await qmp.ExecuteAsync("blockdev-add", new JsonObject
            {
                ["driver"] = "qcow2",
                ["node-name"] = NodeName,
                ["file"] = new JsonObject { ["driver"] = "file", ["filename"] = fleece._scratchFile },
                ["backing"] = node.NodeName,
            }, ct).ConfigureAwait(false);
            return fleece;
        }
        catch
        {
            await fleece.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Serves the overlay read-only on a Unix socket, with the named dirty bitmaps of the disk.</summary>
    public async Task<NbdAddress> ExportAsync(IReadOnlyList<string> bitmaps, CancellationToken ct)
    {
        try
        {
            await _qmp.ExecuteAsync("nbd-server-start", new JsonObject
            {
                ["addr"] = new JsonObject { ["type"] = "unix", ["data"] = new JsonObject { ["path"] = _socket } },
            }, ct).ConfigureAwait(false);
        }
        catch (QmpException e) when (e.Description.Contains("already running", StringComparison.OrdinalIgnoreCase))
        {
            throw new StrataException($"QEMU at {_qmp.SocketPath} already runs an NBD server (another tool's, or one left by a Strata that was killed: " +
                "stop it with the QMP command nbd-server-stop); QEMU has only one, and Strata needs it to read the disk");
        }
        _serverStarted = true;
        await _qmp.ExecuteAsync("block-export-add", new JsonObject
        {
            ["type"] = "nbd",
            ["id"] = ExportId,
            ["node-name"] = NodeName,
            ["name"] = ExportName,
            ["writable"] = false,
            ["bitmaps"] = new JsonArray([.. bitmaps.Select(b => (JsonNode)b)]),
        }, ct).ConfigureAwait(false);
        return NbdAddress.ForUnixSocket(_socket, ExportName);
    }

    /// <summary>Removes Strata's export, NBD server, copy job and overlay node from the VM, if there.</summary>
    public static Task RemoveLeftoversAsync(QmpClient qmp, CancellationToken ct) => TearDownAsync(qmp, stopServer: false, ct);

    private static async Task TearDownAsync(QmpClient qmp, bool stopServer, CancellationToken ct)
    {
        if (await HasAsync(qmp, "query-block-exports", "id", ExportId, ct).ConfigureAwait(false))
        {
            // hard: our NBD clients may still be connected for a moment after they said goodbye.
            await qmp.ExecuteAsync("block-export-del", new JsonObject { ["id"] = ExportId, ["mode"] = "hard" }, ct).ConfigureAwait(false);
            await WaitUntilGoneAsync(qmp, "query-block-exports", "id", ExportId, "the NBD export", ct).ConfigureAwait(false);
            stopServer = true;
        }
        if (stopServer)
        {
            try { await qmp.ExecuteAsync("nbd-server-stop", null, ct).ConfigureAwait(false); }
            catch (QmpException) { } // not running: nothing to stop
        }
        if (await HasAsync(qmp, "query-jobs", "id", JobId, ct).ConfigureAwait(false))
        {
            await qmp.ExecuteAsync("block-job-cancel", new JsonObject { ["device"] = JobId, ["force"] = true }, ct).ConfigureAwait(false);
            await WaitUntilGoneAsync(qmp, "query-jobs", "id", JobId, "the fleecing job", ct).ConfigureAwait(false);
        }
        if (await HasAsync(qmp, "query-named-block-nodes", "node-name", NodeName, ct).ConfigureAwait(false))
            await qmp.ExecuteAsync("blockdev-del", new JsonObject { ["node-name"] = NodeName }, ct).ConfigureAwait(false);
    }

    private static async Task<bool> HasAsync(QmpClient qmp, string query, string key, string value, CancellationToken ct)
    {
        var list = await qmp.ExecuteAsync(query, query == "query-named-block-nodes" ? new JsonObject { ["flat"] = true } : null, ct).ConfigureAwait(false);
        return list is JsonArray items && items.Any(i => (string?)i?[key] == value);
    }

    // Export deletion and job cancellation finish asynchronously: polled, not awaited as events (QmpClient skips events).
    private static async Task WaitUntilGoneAsync(QmpClient qmp, string query, string key, string value, string what, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (await HasAsync(qmp, query, key, value, ct).ConfigureAwait(false))
        {
            if (clock.Elapsed > WaitLimit) throw new StrataException($"QEMU did not remove {what} '{value}' within {WaitLimit.TotalSeconds:0} s");
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Tears everything down (best effort when QEMU is gone) and deletes the scratch file.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_qmp.IsBroken) await TearDownAsync(_qmp, _serverStarted, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StrataException) when (_qmp.IsBroken)
        {
            // QEMU went away: nothing of ours is left inside it.
        }
        finally
        {
            try { File.Delete(_scratchFile); } catch (IOException) { }
            try { File.Delete(_socket); } catch (IOException) { }
            try { _privateDirectory?.Delete(recursive: true); } catch (IOException) { }
        }
    }
}
