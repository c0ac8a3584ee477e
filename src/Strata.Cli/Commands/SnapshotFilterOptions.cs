using System.CommandLine;
using Strata.Repository;

namespace Strata.Cli.Commands;

/// <summary>--host/--path/--tag, shared by the commands that pick snapshots.</summary>
internal sealed class SnapshotFilterOptions
{
    public readonly Option<string?> Host = new("--host") { Description = "Only snapshots of this host" };
    public readonly Option<string[]> Path = new("--path") { Description = "Only snapshots of exactly these paths (repeatable)" };
    public readonly Option<string[]> Tag = new("--tag") { Description = "Only snapshots with this tag (repeatable, or comma-separated)" };

    public void AddTo(Command command)
    {
        command.Options.Add(Host);
        command.Options.Add(Path);
        command.Options.Add(Tag);
    }

    public SnapshotFilter? Read(ParseResult parse)
    {
        var host = parse.GetValue(Host);
        var paths = parse.Values(Path).Select(p => System.IO.Path.GetFullPath(p).TrimEnd('/')).ToList();
        var tags = parse.Values(Tag, splitCommas: true);
        return host is null && paths.Count == 0 && tags.Count == 0 ? null : new SnapshotFilter(host, paths, tags);
    }
}
