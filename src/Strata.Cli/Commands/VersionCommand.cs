using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Cli.Output;
using Strata.Errors;

namespace Strata.Cli.Commands;

internal static class VersionCommand
{
    public static Command Create() => new Command("version", "Print the version").WithAction((ctx, _) =>
    {
        if (ctx.Json) JsonOutput.Line(new JsonObject { ["version"] = StrataVersion.Text, ["runtime"] = Environment.Version.ToString() });
        else Console.Out.WriteLine($"{StrataVersion.Text} (.NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription})");
        return Task.FromResult(ExitCodes.Ok);
    });
}
