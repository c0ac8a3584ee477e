using System.CommandLine;
using Strata.Errors;
using Strata.Storage;

namespace Strata.Cli;

/// <summary>What every command needs from its parse result: where the repository is, how to talk to the user.</summary>
public sealed class CommandContext(ParseResult parse)
{
    public ParseResult Parse { get; } = parse;
    public bool Json { get; } = parse.GetValue(GlobalOptions.Json);
    public bool Quiet { get; } = parse.GetValue(GlobalOptions.Quiet);
    public bool ShowProgress => !Json && !Quiet;

    public string RepositoryLocation =>
        Parse.GetValue(GlobalOptions.Repository) is { Length: > 0 } repo ? repo
        : Environment.GetEnvironmentVariable("STRATA_REPOSITORY") is { Length: > 0 } env ? env
        : throw new UsageException("no repository given: use --repo PATH or set STRATA_REPOSITORY");

    public string ReadPassword(bool confirm = false) => PasswordSource.Read(Parse.GetValue(GlobalOptions.PasswordFile), confirm);

    /// <summary>--limit-upload, --limit-download and --no-cache, for every repository this command opens.</summary>
    public StorageOptions StorageOptions => new()
    {
        LimitUploadKib = Positive(Parse.GetValue(GlobalOptions.LimitUpload), "--limit-upload"),
        LimitDownloadKib = Positive(Parse.GetValue(GlobalOptions.LimitDownload), "--limit-download"),
        UseCache = !Parse.GetValue(GlobalOptions.NoCache),
    };

    private static long? Positive(long? value, string option) =>
        value is < 0 ? throw new UsageException($"{option} must be a positive number of KiB/s (0 = unlimited), not {value}") : value;

    public Task<Repository.Repository> OpenRepositoryAsync(CancellationToken ct) => OpenRepositoryAsync(RepositoryLocation, () => ReadPassword(), ct);

    /// <summary>Opens the repository at <paramref name="location"/> with this command's storage options; the password is asked for only if a repository is there.</summary>
    public async Task<Repository.Repository> OpenRepositoryAsync(string location, Func<string> password, CancellationToken ct, StorageOptions? storage = null)
    {
        var backend = StorageLocation.Open(location, storage ?? StorageOptions);
        try
        {
            if (!await backend.ExistsAsync(Repository.Layout.Config, ct).ConfigureAwait(false))
                throw new RepositoryNotFoundException(backend.Location);
            return await Repository.Repository.OpenAsync(backend, password(), ct).ConfigureAwait(false);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>Informational text: to stdout, unless the output is JSON (then stderr keeps stdout parseable) or quiet.</summary>
    public void Info(string line)
    {
        if (Quiet) return;
        (Json ? Console.Error : Console.Out).WriteLine(line);
    }

    public static void Warn(string line) => Console.Error.WriteLine(line);
}
