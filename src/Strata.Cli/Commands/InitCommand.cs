using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Chunking;
using Strata.Cli.Output;
using Strata.Errors;
using Strata.Repository;
using Strata.Storage;

namespace Strata.Cli.Commands;

internal static class InitCommand
{
    public static Command Create()
    {
        var compression = new Option<int>("--compression") { Description = "zstd level for new data, 0 = off (default 1: measured 20% less CPU than 3 for 3% more space)", DefaultValueFactory = _ => 1 };
        var packSize = new Option<int>("--pack-size") { Description = "target pack file size in MiB (default 16)", DefaultValueFactory = _ => 16 };
        var chunkAvg = new Option<int>("--chunk-avg") { Description = "average chunk size in KiB, a power of two (default 128; min = avg/4, max = avg*4)", DefaultValueFactory = _ => ChunkerParameters.Default.AverageSize / 1024 };
        var copyChunker = new Option<bool>("--copy-chunker-params") { Description = "Use the chunker of the repository given with --from-repo, so snapshots copied from it need no re-chunking" };
        var from = new Option<string?>("--from-repo") { Description = "With --copy-chunker-params: the repository whose chunker to use (password: $STRATA_FROM_PASSWORD, --from-password-file, then $STRATA_PASSWORD…)" };
        var fromPassword = new Option<string?>("--from-password-file") { Description = "Password file of the --from-repo repository" };
        var command = new Command("init", "Create a new repository") { compression, packSize, chunkAvg, copyChunker, from, fromPassword };
        return command.WithAction(async (ctx, ct) =>
        {
            var location = ctx.RepositoryLocation;
            var backend = StorageLocation.OpenDirect(location);
            if (await backend.ExistsAsync(Layout.Config, ct)) throw new UsageException($"a repository already exists at {backend.Location}");
            if (backend is LocalDirectoryBackend local) local.CreateRoot();
            if (backend is S3Backend s3) await s3.CreateBucketIfMissingAsync(ct);
            int avg = ctx.Parse.GetValue(chunkAvg) * 1024;
            var options = new RepositoryInitOptions
            {
                CompressionLevel = ctx.Parse.GetValue(compression),
                PackSize = ctx.Parse.GetValue(packSize) << 20,
                Chunker = avg == ChunkerParameters.Default.AverageSize ? ChunkerParameters.Default : new ChunkerParameters(avg / 4, avg, avg * 4),
            };
            if (ctx.Parse.GetValue(copyChunker))
            {
                var fromLocation = ctx.Parse.GetValue(from) ?? Environment.GetEnvironmentVariable("STRATA_FROM_REPOSITORY")
                    ?? throw new UsageException("--copy-chunker-params needs the repository to copy them from: --from-repo LOCATION");
                using var fromRepo = await ctx.OpenRepositoryAsync(fromLocation, () => CopyCommand.ReadPassword(ctx, ctx.Parse.GetValue(fromPassword), "FROM", "password of the --from-repo repository"), ct);
                options = options with { Chunker = fromRepo.Config.Chunker.Parameters, GearSeed = fromRepo.Config.Chunker.GearSeed };
            }
            else if (ctx.Parse.GetValue(from) is not null)
            {
                throw new UsageException("--from-repo is only used with --copy-chunker-params");
            }
            using var repo = await Repository.Repository.InitAsync(backend, ctx.ReadPassword(confirm: true), options, ct);
            if (ctx.Json)
                JsonOutput.Line(new JsonObject { ["message_type"] = "initialized", ["id"] = repo.Config.Id, ["repository"] = backend.Location });
            else
                ctx.Info($"created Strata repository {repo.Config.Id[..10]} at {backend.Location}\n\nKeep the password safe: without it the data cannot be read back.");
            return ExitCodes.Ok;
        });
    }
}
