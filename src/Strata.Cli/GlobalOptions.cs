using System.CommandLine;

namespace Strata.Cli;

/// <summary>Options every command accepts (restic-style names and environment variables).</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> Repository = new("--repo", "-r")
    {
        Description = "Repository location (default: $STRATA_REPOSITORY)",
        Recursive = true,
    };

    public static readonly Option<string?> PasswordFile = new("--password-file", "-p")
    {
        Description = "Read the password from this file (default: $STRATA_PASSWORD; or the file $STRATA_PASSWORD_FILE names; or a prompt)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write machine-readable JSON to stdout",
        Recursive = true,
    };

    public static readonly Option<bool> Quiet = new("--quiet", "-q")
    {
        Description = "Print only errors and the final result; no progress",
        Recursive = true,
    };

    public static readonly Option<long?> LimitUpload = new("--limit-upload")
    {
        Description = "Limit uploads to the repository to this many KiB/s",
        Recursive = true,
    };

    public static readonly Option<long?> LimitDownload = new("--limit-download")
    {
        Description = "Limit downloads from the repository to this many KiB/s",
        Recursive = true,
    };

    public static readonly Option<bool> NoCache = new("--no-cache")
    {
        Description = "Do not use the local cache of index files and snapshots of remote repositories",
        Recursive = true,
    };

    public static void AddTo(RootCommand root)
    {
        root.Options.Add(LimitUpload);
        root.Options.Add(LimitDownload);
        root.Options.Add(NoCache);
        root.Options.Add(Repository);
        root.Options.Add(PasswordFile);
        root.Options.Add(Json);
        root.Options.Add(Quiet);
    }
}
