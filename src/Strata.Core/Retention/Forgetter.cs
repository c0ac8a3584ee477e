using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Retention;

/// <summary>What <see cref="Forgetter.RunAsync"/> is asked to do besides the policy.</summary>
public sealed record ForgetOptions
{
    /// <summary>Only snapshots matching this are considered; the others are neither kept nor removed by this run.</summary>
    public SnapshotFilter? Filter { get; init; }

    /// <summary>Decide and report, delete nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>See <see cref="RetentionPlanner.Plan"/>.</summary>
    public bool AllowRemoveAll { get; init; }
}

/// <summary>The decisions and what was actually deleted.</summary>
public sealed record ForgetResult(IReadOnlyList<SnapshotGroup> Groups, IReadOnlyList<Snapshot> Removed, bool DryRun)
{
    public int KeptCount => Groups.Sum(g => g.Kept.Count());
    public int RemoveCount => Groups.Sum(g => g.Removed.Count());
}

/// <summary>
/// strata forget: lists the snapshots, applies a policy, deletes the snapshot objects the policy does
/// not keep. Safe beside other processes without a lock: it deletes only snapshots it listed and
/// decided on, so snapshots that backups add meanwhile are untouched; and an added snapshot can only
/// make the others more removable under every rule, never less (it can take a period's or a count's
/// place, or move a tier's window forward), so the plan made without it deletes nothing that a plan
/// made with it would keep. A snapshot that another forget removed first is simply gone (deletes
/// are idempotent).
/// Blobs are not touched: that is prune's job.
/// </summary>
public sealed class Forgetter(Strata.Repository.Repository repo)
{
    /// <summary>Called after each snapshot is deleted, so a caller can report as it goes.</summary>
    public Action<Snapshot>? OnRemoved { get; init; }

    /// <summary>Called with the whole plan before the first delete (and in a dry run).</summary>
    public Action<IReadOnlyList<SnapshotGroup>>? OnPlanned { get; init; }

    public async Task<ForgetResult> RunAsync(RetentionPolicy policy, TimeZoneInfo zone, ForgetOptions options, CancellationToken ct = default)
    {
        var snapshots = await repo.ListSnapshotsAsync(ct).ConfigureAwait(false);
        var selected = options.Filter is null ? snapshots : snapshots.Where(options.Filter.Matches).ToList();
        // The whole plan is made (and refused, if it would empty a group) before the first delete.
        var groups = RetentionPlanner.Plan(selected, policy, zone, options.AllowRemoveAll);
        OnPlanned?.Invoke(groups);
        var removed = options.DryRun ? [] : await DeleteAsync(groups.SelectMany(g => g.Removed), ct).ConfigureAwait(false);
        return new ForgetResult(groups, removed, options.DryRun);
    }

    /// <summary>
    /// Removes exactly the snapshots the user named (by id prefix or "latest"), no rules applied.
    /// Every name is resolved before the first delete, so one that does not resolve removes nothing.
    /// </summary>
    public async Task<IReadOnlyList<Snapshot>> RemoveAsync(IReadOnlyList<string> references, bool dryRun, CancellationToken ct = default)
    {
        var chosen = await repo.FindSnapshotsAsync(references, ct: ct).ConfigureAwait(false);
        return dryRun ? chosen : await DeleteAsync(chosen, ct).ConfigureAwait(false);
    }

    /// <summary>Deletes the snapshot objects, oldest first, reporting each as it goes.</summary>
    private async Task<List<Snapshot>> DeleteAsync(IEnumerable<Snapshot> snapshots, CancellationToken ct)
    {
        var removed = new List<Snapshot>();
        foreach (var snapshot in snapshots.OrderBy(s => s.Time))
        {
            ct.ThrowIfCancellationRequested();
            await repo.DeleteSnapshotAsync(snapshot.Id, ct).ConfigureAwait(false);
            removed.Add(snapshot);
            OnRemoved?.Invoke(snapshot);
        }
        return removed;
    }
}
