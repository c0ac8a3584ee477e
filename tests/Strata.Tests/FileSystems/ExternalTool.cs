using System.Diagnostics;

namespace Strata.Tests.FileSystems;

/// <summary>Runs a real system tool (mkfs.ext4, debugfs, parted, sfdisk, e2fsck) and returns its output; a failure fails the test with its stderr.</summary>
internal static class ExternalTool
{
    public static string Run(string program, params string[] arguments) => RunWithInput(program, null, arguments);

    public static string RunWithInput(string program, string? input, params string[] arguments)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["LC_ALL"] = "C";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {stderr.Result}{stdout.Result}");
        return stdout.Result + stderr.Result;
    }
}
