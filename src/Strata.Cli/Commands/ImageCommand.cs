using System.CommandLine;
using Strata.Errors;

namespace Strata.Cli.Commands;

/// <summary>'strata image …': disk images as block maps with changed-block tracking.</summary>
internal static class ImageCommand
{
    public static Command Create()
    {
        var command = new Command("image", "Back up and restore whole disks (raw files, block devices, qcow2, NBD exports) with changed-block tracking");
        command.Subcommands.Add(ImageBackupCommand.Create());
        command.Subcommands.Add(ImageRestoreCommand.Create());
        command.Subcommands.Add(ImageLsCommand.Create());
        command.Subcommands.Add(ImageDiffCommand.Create());
        command.Subcommands.Add(ImageVerifyCommand.Create());
        return command;
    }

    /// <summary>The bitmap name of a "--cbt qemu-bitmap:NAME" value (the only CBT kind so far).</summary>
    public static string? ParseCbt(string? value)
    {
        if (value is null) return null;
        const string prefix = "qemu-bitmap:";
        if (!value.StartsWith(prefix, StringComparison.Ordinal) || value.Length == prefix.Length)
            throw new UsageException($"--cbt '{value}' is not understood: give qemu-bitmap:NAME (a qemu persistent dirty bitmap)");
        var name = value[prefix.Length..];
        if (name.Length > 1000 || name.Contains('\0')) throw new UsageException($"--cbt: '{name}' is not a valid bitmap name");
        return name;
    }

    public static int ParseBlockSize(string text)
    {
        var t = text.Trim().ToUpperInvariant();
        long factor = t.EndsWith('K') ? 1024 : t.EndsWith('M') ? 1 << 20 : 1;
        if (factor > 1) t = t[..^1];
        if (t.EndsWith("I")) t = t[..^1];
        if (!long.TryParse(t, out var n) || n <= 0 || n * factor > int.MaxValue)
            throw new UsageException($"--block-size '{text}' is not a size (e.g. 64K, 256K, 1M)");
        return (int)(n * factor);
    }
}
