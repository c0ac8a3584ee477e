using System.CommandLine;

namespace Strata.Cli.Commands;

internal static class CommandExtensions
{
    /// <summary>Runs <paramref name="action"/> with a <see cref="CommandContext"/>; typed errors reach Program's handler.</summary>
    public static Command WithAction(this Command command, Func<CommandContext, CancellationToken, Task<int>> action)
    {
        command.SetAction((parse, ct) => action(new CommandContext(parse), ct));
        return command;
    }

    /// <summary>Values of a repeatable option, also split at commas (restic's --tag a,b).</summary>
    public static List<string> Values(this ParseResult parse, Option<string[]> option, bool splitCommas = false) =>
        (parse.GetValue(option) ?? [])
            .SelectMany(v => splitCommas ? v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [v])
            .ToList();
}
