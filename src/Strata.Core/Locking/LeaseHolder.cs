using System.Text.Json;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Locking;

/// <summary>
/// A lease this process holds: refreshed in the background until disposed, then deleted.
/// Work that commits (a backup saving its snapshot) calls <see cref="EnsureValid"/> first: a
/// process that was suspended or cut off from storage for too long may have been judged dead by
/// a pruner, and must not commit references to blobs that may have been deleted meanwhile.
/// </summary>
public sealed class LeaseHolder : IAsyncDisposable
{
    private readonly Repository.Repository _repo;
    private readonly Lease _lease;
    private readonly CancellationTokenSource _stop = new();
    private Task? _refresher;
    private DateTimeOffset _lastWritten;

    internal LeaseHolder(Repository.Repository repo, string id, Lease lease)
    {
        _repo = repo;
        Id = id;
        _lease = lease;
    }

    public string Id { get; }

    internal async Task WriteAsync(CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        _lease.Refreshed = now;
        var sealedLease = Envelope.Seal(_repo.Key.Cipher, JsonSerializer.SerializeToUtf8Bytes(_lease, StrataJson.Default.Lease), 0);
        await _repo.Backend.PutAsync(Layout.LocksFolder + Id, sealedLease, ct).ConfigureAwait(false);
        _lastWritten = now;
    }

    internal LeaseHolder StartRefreshing()
    {
        _refresher = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(Leases.RefreshInterval, _stop.Token).ConfigureAwait(false);
                    await WriteAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { return; }
                catch (StrataException) { /* retried at the next interval; EnsureValid stops the work if it goes on failing */ }
            }
        });
        return this;
    }

    /// <summary>Throws when the lease has gone unrefreshed for so long that others may think this process dead.</summary>
    public void EnsureValid()
    {
        var age = DateTimeOffset.UtcNow - _lastWritten;
        if (age > Leases.StaleAfter - Leases.RefreshInterval)
            throw new StrataException($"this process could not refresh its lease for {age.TotalMinutes:F0} minutes (suspended or storage unreachable); " +
                                      "stopping without committing, since a concurrent prune may have removed data it relies on. Run it again.");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_refresher is not null) await _refresher.ConfigureAwait(false);
        try { await _repo.Backend.DeleteAsync(Layout.LocksFolder + Id).ConfigureAwait(false); }
        catch (StrataException) { /* left behind: judged stale once this process is gone */ }
        _stop.Dispose();
    }
}
