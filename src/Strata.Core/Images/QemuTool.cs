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
            throw new StrataException($"{what} failed: {program}: {Describe(program, error)}");
        return output;
    }

    /// <summary>
    /// The first line of a qemu program's error output without its own "PROGRAM: " prefix, and, when
    /// the image is locked by another process (the usual cause: the VM that uses it is running), what to do.
    /// </summary>
    public static string Describe(string program, string errorOutput)
    {
        var line = FirstLine(errorOutput);
        if (line.StartsWith(program + ": ", StringComparison.Ordinal)) line = line[(program.Length + 2)..];
        if (line.Contains("\"write\" lock", StringComparison.Ordinal))
            line += " (the image is in use by another program, most likely the VM it belongs to: stop that VM first; a running VM's disk is backed up through its QMP socket, qmp:///SOCKET?node=NODE)";
        return line;
    }

    public static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        return line.Length > 0 ? line : "(no message)";
    }
}
