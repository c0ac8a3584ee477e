using System.Security.Cryptography;
using System.Text.Json;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;
using Strata.Storage;

namespace Strata.Locking;

/// <summary>
/// Writing, listing and judging leases. The rule (docs/FORMAT.md, "Leases"): a lease is stale when
/// its process is on this host and no longer running, or when it has not been refreshed for
/// <see cref="StaleAfter"/>; holders refresh every <see cref="RefreshInterval"/> and stop work
/// before their own lease could be judged stale.
/// </summary>
public static class Leases
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(30);

    public static async Task<List<LeaseEntry>> ListAsync(Repository.Repository repo, CancellationToken ct = default)
    {
        var entries = new List<LeaseEntry>();
        await foreach (var obj in repo.Backend.ListAsync(Layout.LocksFolder, ct).ConfigureAwait(false))
        {
            var id = obj.Name[Layout.LocksFolder.Length..];
            Lease lease;
            try
            {
                var stored = await repo.Backend.GetAsync(obj.Name, ct: ct).ConfigureAwait(false);
                lease = JsonSerializer.Deserialize(Envelope.Open(repo.Key.Cipher, stored, obj.Name), StrataJson.Default.Lease)
                        ?? throw new CorruptDataException($"{obj.Name}: empty");
            }
            catch (ObjectNotFoundException)
            {
                continue; // released while we listed
            }
            catch (Exception e) when (e is CorruptDataException or JsonException)
            {
                entries.Add(new LeaseEntry(id, new Lease { Kind = "unknown" }, "unreadable (damaged)"));
                continue;
            }
            entries.Add(new LeaseEntry(id, lease, StaleReason(lease, DateTimeOffset.UtcNow)));
        }
        return entries;
    }

    public static string? StaleReason(Lease lease, DateTimeOffset now)
    {
        if (lease.Hostname == Environment.MachineName && !ProcessLiveness.IsAlive(lease.Pid, lease.ProcessStart))
            return $"process {lease.Pid} is no longer running on this host";
        if (now - lease.Refreshed > StaleAfter)
            return $"not refreshed since {lease.Refreshed.LocalDateTime:yyyy-MM-dd HH:mm:ss}";
        return null;
    }

    /// <summary>
    /// Takes a lease of <paramref name="kind"/>. Prune and repair leases exclude each other: after writing its
    /// own, a process that finds an older live one withdraws, so of two racing pruners at most one runs.
    /// </summary>
    public static async Task<LeaseHolder> AcquireAsync(Repository.Repository repo, string kind, CancellationToken ct = default)
    {
        var now = DateTimeOffset.UtcNow;
        var lease = new Lease
        {
            Kind = kind,
            Hostname = Environment.MachineName,
            Pid = ProcessLiveness.CurrentPid,
            ProcessStart = ProcessLiveness.StartTimeOf(ProcessLiveness.CurrentPid),
            Username = Environment.UserName,
            Created = now,
            Refreshed = now,
        };
        var holder = new LeaseHolder(repo, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), lease);
        await holder.WriteAsync(ct).ConfigureAwait(false);
        if (!IsExclusive(kind)) return holder.StartRefreshing();
        try
        {
            var rival = (await ListAsync(repo, ct).ConfigureAwait(false))
                .Where(e => e.Id != holder.Id && IsExclusive(e.Lease.Kind) && !e.IsStale)
                .FirstOrDefault(e => (e.Lease.Created, e.Id).CompareTo((lease.Created, holder.Id)) < 0);
            if (rival is not null)
                throw new RepositoryLockedException($"another prune or repair is running ({rival.Lease}); if that process is gone, run 'strata unlock'");
        }
        catch
        {
            await holder.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return holder.StartRefreshing();
    }

    /// <summary>Prune and repair delete and rewrite index files: one of them at a time.</summary>
    private static bool IsExclusive(string kind) => kind is Lease.Prune or Lease.Repair;

    /// <summary>Removes stale leases (or, with <paramref name="all"/>, every lease); returns what was removed.</summary>
    public static async Task<List<LeaseEntry>> RemoveAsync(Repository.Repository repo, bool all, CancellationToken ct = default)
    {
        var removed = new List<LeaseEntry>();
        foreach (var entry in await ListAsync(repo, ct).ConfigureAwait(false))
        {
            if (!all && !entry.IsStale) continue;
            await repo.Backend.DeleteAsync(Layout.LocksFolder + entry.Id, ct).ConfigureAwait(false);
            removed.Add(entry);
        }
        return removed;
    }
}
