using System.CommandLine;
using Strata.Cli;
using Strata.Cli.Commands;
using Strata.Errors;

var root = new RootCommand("Strata: deduplicated, compressed, encrypted backups of files and disks.");
GlobalOptions.AddTo(root);
root.Subcommands.Add(InitCommand.Create());
root.Subcommands.Add(BackupCommand.Create());
root.Subcommands.Add(SnapshotsCommand.Create());
root.Subcommands.Add(LsCommand.Create());
root.Subcommands.Add(DiffCommand.Create());
root.Subcommands.Add(FindCommand.Create());
root.Subcommands.Add(CatCommand.Create());
root.Subcommands.Add(StatsCommand.Create());
root.Subcommands.Add(RestoreCommand.Create());
root.Subcommands.Add(MountCommand.Create());
root.Subcommands.Add(DumpCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(PruneCommand.Create());
root.Subcommands.Add(UnlockCommand.Create());
root.Subcommands.Add(RepairCommand.Create());
root.Subcommands.Add(ImageCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(KeyCommand.Create());
root.Subcommands.Add(ForgetCommand.Create());
root.Subcommands.Add(PolicyCommand.Create());
root.Subcommands.Add(CopyCommand.Create());
root.Subcommands.Add(ReplicateCommand.Create());
root.Subcommands.Add(BenchmarkCommand.Create());
root.Subcommands.Add(VersionCommand.Create());

// Not disposed: a SIGTERM handler may still be inside Cancel() when Main returns.
var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancellation.Cancel(); };
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cancellation.Cancel(); });

var parse = root.Parse(args);
try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancellation.Token);
}
catch (StrataException e)
{
    Console.Error.WriteLine($"strata: {e.Message}");
    return e.ExitCode;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("strata: interrupted; the repository is unchanged by the unfinished operation");
    return ExitCodes.Interrupted;
}
finally
{
    // For investigating memory use: STRATA_DEBUG_MEMORY=1 prints the managed heap's figures at exit.
    if (Environment.GetEnvironmentVariable("STRATA_DEBUG_MEMORY") == "1")
    {
        var info = GC.GetGCMemoryInfo();
        Console.Error.WriteLine($"memory: allocated {GC.GetTotalAllocatedBytes() >> 20} MiB in total, peak heap {info.HeapSizeBytes >> 20} MiB, " +
            $"committed {info.TotalCommittedBytes >> 20} MiB, gen0/1/2 collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, " +
            $"after last GC gen0/1/2/LOH/POH {string.Join("/", Enumerable.Range(0, 5).Select(g => info.GenerationInfo[g].SizeAfterBytes >> 20))} MiB");
        // What is really live (pools, caches), as opposed to garbage the runtime had no reason to collect yet.
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var live = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        Console.Error.WriteLine($"memory: live after a full compacting GC gen0/1/2/LOH/POH {string.Join("/", Enumerable.Range(0, 5).Select(g => live.GenerationInfo[g].SizeAfterBytes >> 20))} MiB");
    }
}
