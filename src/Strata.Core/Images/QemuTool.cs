using System.ComponentModel;
using System.Diagnostics;
using Strata.Errors;

namespace Strata.Images;

/// <summary>Runs the qemu-utils programs (qemu-img, qemu-nbd) and turns their failures into one-line errors.</summary>
internal static class QemuTool
{
    public const string Package = "qemu-utils";

    /// <summary>Whether <paramref name="program"/> is on the PATH.</summary>
    public static bool IsInstalled(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));

    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        return info;
    }

    public static Process Start(ProcessStartInfo info)
    {
        try
        {
            return Process.Start(info) ?? throw new StrataException($"could not start {info.FileName}");
        }
        catch (Win32Exception)
        {
            throw new UsageException($"{info.FileName} is not installed (Debian package {Package}); it is needed for qcow2 images and qemu dirty bitmaps");
        }
    }

    /// <summary>Runs a program to completion; returns stdout, or throws with its stderr.</summary>
    public static async Task<string> RunAsync(string program, IReadOnlyList<string> args, string what, CancellationToken ct)
    {
        using var process = Start(StartInfo(program, args));
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        var output = await stdout.ConfigureAwait(false);
        var error = (await stderr.ConfigureAwait(false)).Trim();
        if (process.ExitCode != 0)
            throw new StrataException($"{what} failed: {program}: {FirstLine(error)}");
        return output;
    }

    public static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        return line.Length > 0 ? line : "(no message)";
    }
}
