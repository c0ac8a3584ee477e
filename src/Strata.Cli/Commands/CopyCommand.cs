using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Replication;

namespace Strata.Cli.Commands;

internal static class CopyCommand
{
    public static Command Create()
    {
        var from = new Option<string?>("--from-repo") { Description = "Repository to copy from (default: $STRATA_FROM_REPOSITORY)" };
        var to = new Option<string?>("--to-repo") { Description = "Repository to copy to (default: $STRATA_TO_REPOSITORY, else --repo / $STRATA_REPOSITORY)" };
        var fromPassword = new Option<string?>("--from-password-file") { Description = "Password file of the source (default: $STRATA_FROM_PASSWORD, $STRATA_FROM_PASSWORD_FILE, then $STRATA_PASSWORD…)" };
        var toPassword = new Option<string?>("--to-password-file") { Description = "Password file of the target (default: $STRATA_TO_PASSWORD, $STRATA_TO_PASSWORD_FILE, then $STRATA_PASSWORD…)" };
        var snapshots = new Argument<string[]>("SNAPSHOT") { Description = "Snapshots to copy (ids or 'latest'; default: all that match the filters)", Arity = ArgumentArity.ZeroOrMore };
        var filter = new SnapshotFilterOptions();
        var command = new Command("copy", """
            Copy snapshots to another repository, sending only the data it lacks.
            The target has its own password and keys. If its chunker differs from the source's (every
            repository has its own unless created with 'init --copy-chunker-params'), files are re-chunked
            for it. Snapshots the target already has are skipped; an interrupted copy resumes where it stopped.
            """) { from, to, fromPassword, toPassword, snapshots };
        filter.AddTo(command);
        return command.WithAction(async (ctx, ct) =>
        {
            var source = ctx.Parse.GetValue(from) ?? Env("STRATA_FROM_REPOSITORY")
                ?? throw new UsageException("no source repository: use --from-repo LOCATION or set STRATA_FROM_REPOSITORY");
            var target = ctx.Parse.GetValue(to) ?? Env("STRATA_TO_REPOSITORY") ?? ctx.Parse.GetValue(GlobalOptions.Repository) ?? Env("STRATA_REPOSITORY")
                ?? throw new UsageException("no target repository: use --to-repo LOCATION or set STRATA_TO_REPOSITORY");
            using var sourceRepo = await ctx.OpenRepositoryAsync(source, () => ReadPassword(ctx, ctx.Parse.GetValue(fromPassword), "FROM", "source repository password"), ct);
            using var targetRepo = await ctx.OpenRepositoryAsync(target, () => ReadPassword(ctx, ctx.Parse.GetValue(toPassword), "TO", "target repository password"), ct);
            var copier = new SnapshotCopier(sourceRepo, targetRepo);
            var options = new CopyOptions { Snapshots = ctx.Parse.GetValue(snapshots) ?? [], Filter = filter.Read(ctx.Parse) };
            var result = await Run(ctx, copier, options, ct);
            Report(ctx, result, sourceRepo.Backend.Location, targetRepo.Backend.Location);
            return ExitCodes.Ok;
        });
    }

    /// <summary>Runs a copy with a progress line; shared with replicate.</summary>
    internal static async Task<CopyResult> Run(CommandContext ctx, SnapshotCopier copier, CopyOptions options, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var p = copier.Progress;
        using (new ProgressLine(ctx.ShowProgress, () =>
            $"[{Terminal.Duration(clock.Elapsed)}] snapshot {Math.Min(p.SnapshotsDone + 1, p.SnapshotsToCopy)} of {p.SnapshotsToCopy}, {p.Files} files, read {Terminal.Bytes(p.BytesRead)}, sent {Terminal.Bytes(p.BytesAdded)} ({p.BlobsAdded} new blobs)"))
            return await copier.CopyAsync(options, ct);
    }

    internal static void Report(CommandContext ctx, CopyResult result, string from, string to)
    {
        if (ctx.Json)
        {
            foreach (var (source, target) in result.Copied)
                JsonOutput.Line(new JsonObject { ["message_type"] = "snapshot_copied", ["source_id"] = source.ToString(), ["target_id"] = target.ToString(), ["repository"] = to });
            JsonOutput.Line(new JsonObject
            {
                ["message_type"] = "summary",
                ["from"] = from,
                ["to"] = to,
                ["snapshots_copied"] = result.Copied.Count,
                ["snapshots_already_present"] = result.AlreadyPresent.Count,
                ["rechunked"] = result.Rechunked,
                ["bytes_read"] = result.BytesRead,
                ["blobs_added"] = result.BlobsAdded,
                ["bytes_added"] = result.BytesAdded,
            });
            return;
        }
        foreach (var (source, target) in result.Copied) Console.Out.WriteLine($"snapshot {source.ToShortString()} copied to {to} as {target.ToShortString()}");
        if (result.AlreadyPresent.Count > 0) ctx.Info($"{result.AlreadyPresent.Count} snapshot(s) were already in {to}");
        ctx.Info($"copied {result.Copied.Count} snapshot(s){(result.Rechunked ? " (re-chunked for the target's chunker)" : "")}: read {Terminal.Bytes(result.BytesRead)}, added {Terminal.Bytes(result.BytesAdded)} in {result.BlobsAdded} new blobs");
    }

    /// <summary>
    /// The option's (or policy's) file, $STRATA_{FROM|TO}_PASSWORD, $STRATA_{FROM|TO}_PASSWORD_FILE, then
    /// the usual password sources. A file named for this repository wins over the environment: a
    /// replication policy's targets each name their own.
    /// </summary>
    internal static string ReadPassword(CommandContext ctx, string? file, string side, string what)
    {
        if (file is not null) return PasswordSource.ReadFile(file);
        if (Env($"STRATA_{side}_PASSWORD") is { } password) return password;
        if (Env($"STRATA_{side}_PASSWORD_FILE") is { } path) return PasswordSource.ReadFile(path);
        return PasswordSource.Read(ctx.Parse.GetValue(GlobalOptions.PasswordFile), what: what);
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
