using Strata.Errors;
using Strata.Repository;

namespace Strata.Replication;

/// <summary>How one target's replication went.</summary>
public enum ReplicationStatus
{
    /// <summary>Every selected snapshot is in the target.</summary>
    Done,
    /// <summary>No window open: nothing was done.</summary>
    OutsideWindow,
    /// <summary>The window closed during the copy; the next run resumes it.</summary>
    StoppedAtWindowEnd,
    /// <summary>The target could not be opened or written; the others went on.</summary>
    Failed,
}

public sealed record TargetOutcome(ReplicationTarget Target, ReplicationStatus Status, CopyResult? Copy, IReadOnlyList<BlobId> Removed, string? Message);

/// <summary>
/// Runs a <see cref="ReplicationPolicy"/> once: for each target whose window is open, copies the
/// selected snapshots (stopping when the window closes; copies resume), then applies the target's
/// retention. Targets are independent: one that fails (a region down) does not stop the others.
/// </summary>
public sealed class Replicator(ReplicationPolicy policy, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Opens a target repository with an upload limit in KiB/s (null = none).</summary>
    public delegate Task<Repository.Repository> OpenTarget(ReplicationTarget target, long? limitUploadKib, CancellationToken ct);

    /// <summary>Called when a target starts copying, with its copier (for progress).</summary>
    public Action<ReplicationTarget, SnapshotCopier>? OnCopy { get; init; }

    /// <summary>Called as each target finishes, so progress can be reported target by target.</summary>
    public Action<TargetOutcome>? OnOutcome { get; init; }

    /// <summary>Ignore the time windows (a manual run now).</summary>
    public bool IgnoreWindows { get; init; }

    public async Task<List<TargetOutcome>> RunAsync(Repository.Repository source, OpenTarget openTarget, CancellationToken ct = default)
    {
        var outcomes = new List<TargetOutcome>();
        foreach (var target in policy.Targets)
        {
            ct.ThrowIfCancellationRequested();
            var outcome = await RunTargetAsync(source, target, openTarget, ct).ConfigureAwait(false);
            outcomes.Add(outcome);
            OnOutcome?.Invoke(outcome);
        }
        return outcomes;
    }

    private async Task<TargetOutcome> RunTargetAsync(Repository.Repository source, ReplicationTarget target, OpenTarget openTarget, CancellationToken ct)
    {
        var now = _time.GetLocalNow().DateTime;
        ReplicationWindow? window = null;
        if (!IgnoreWindows && target.Windows.Count > 0)
        {
            window = target.Windows.FirstOrDefault(w => w.Contains(TimeOnly.FromDateTime(now)));
            if (window is null)
            {
                var next = target.Windows.Min(w => w.NextOpening(now));
                return new TargetOutcome(target, ReplicationStatus.OutsideWindow, null, [], $"outside its time windows; the next opens at {next:yyyy-MM-dd HH:mm}");
            }
        }
        using var windowEnd = window?.ClosesAfter(now) is { } closes ? new CancellationTokenSource(closes - now, _time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, windowEnd.Token);
        try
        {
            using var repo = await openTarget(target, window?.LimitUploadKib ?? target.LimitUploadKib, linked.Token).ConfigureAwait(false);
            var copier = new SnapshotCopier(source, repo);
            OnCopy?.Invoke(target, copier);
            var options = new CopyOptions
            {
                Filter = target.Tags is { Count: > 0 } ? new SnapshotFilter(Tags: target.Tags) : null,
                LatestPerHostOnly = target.Snapshots == "latest",
            };
            var selected = (await copier.SelectAsync(options, linked.Token).ConfigureAwait(false))
                .Where(s => target.Hosts is not { Count: > 0 } || target.Hosts.Contains(s.Hostname)).ToList();
            if (target.Retention is not { } retention)
                return new TargetOutcome(target, ReplicationStatus.Done, await copier.CopyAsync(selected, linked.Token).ConfigureAwait(false), [], null);

            // Retention is planned over the copies and the candidates together, so a snapshot the
            // rules would remove is not sent at all, and one removed earlier is not sent again.
            var copies = (await repo.ListSnapshotsAsync(linked.Token).ConfigureAwait(false))
                .Where(s => s.Original is not null && (target.Hosts is not { Count: > 0 } || target.Hosts.Contains(s.Hostname)))
                .ToList();
            var present = copies.Select(s => s.Original!.Value).ToHashSet();
            var candidates = selected.Where(s => !present.Contains(s.Original ?? s.Id)).ToList();
            var unwanted = retention.ToRemove(copies.Concat(candidates)).Select(s => s.Id).ToHashSet();
            var copy = await copier.CopyAsync(candidates.Where(s => !unwanted.Contains(s.Id)).ToList(), linked.Token).ConfigureAwait(false);
            var removed = new List<BlobId>();
            foreach (var old in copies.Where(s => unwanted.Contains(s.Id)))
            {
                await repo.DeleteSnapshotAsync(old.Id, linked.Token).ConfigureAwait(false);
                removed.Add(old.Id);
            }
            return new TargetOutcome(target, ReplicationStatus.Done, copy, removed, null);
        }
        catch (OperationCanceledException) when (windowEnd.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new TargetOutcome(target, ReplicationStatus.StoppedAtWindowEnd, null, [], "its time window closed; the next run resumes the copy");
        }
        catch (StrataException e) when (e is not UsageException)
        {
            return new TargetOutcome(target, ReplicationStatus.Failed, null, [], e.Message);
        }
    }
}
