using System.Text;
using Strata.Cli.Output;
using Strata.Errors;

namespace Strata.Cli;

/// <summary>
/// Where a password comes from, in order: --password-file, $STRATA_PASSWORD, $STRATA_PASSWORD_FILE,
/// then a prompt when a person is at a terminal. What the command line names wins over the
/// environment (a shell that exports one password must not override the file given for another
/// repository). Never from a command-line argument itself (it would show in ps).
/// </summary>
public static class PasswordSource
{
    public static string Read(string? passwordFile, bool confirm = false, string variable = "STRATA_PASSWORD", string fileVariable = "STRATA_PASSWORD_FILE", string what = "repository password")
    {
        if (!string.IsNullOrEmpty(passwordFile)) return ReadFile(passwordFile);
        var fromEnvironment = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
        var fileFromEnvironment = Environment.GetEnvironmentVariable(fileVariable);
        if (!string.IsNullOrEmpty(fileFromEnvironment)) return ReadFile(fileFromEnvironment);
        if (!Terminal.StdinIsTerminal)
            throw new UsageException($"no {what}: set {variable}, or {fileVariable} / --password-file, or run at a terminal to be asked");
        var password = Prompt($"enter {what}: ");
        if (password.Length == 0) throw new UsageException("an empty password is not allowed");
        if (confirm && Prompt($"enter {what} again: ") != password) throw new UsageException("the passwords do not match");
        return password;
    }

    public static string ReadFile(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            var firstLine = text.Split('\n')[0].TrimEnd('\r');
            if (firstLine.Length == 0) throw new UsageException($"password file {path} is empty");
            return firstLine;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read password file {path}: {IoErrorText.Describe(e)}");
        }
    }

    private static string Prompt(string prompt)
    {
        Console.Error.Write(prompt);
        var sb = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace) { if (sb.Length > 0) sb.Length--; continue; }
            if (!char.IsControl(key.KeyChar)) sb.Append(key.KeyChar);
        }
        Console.Error.WriteLine();
        return sb.ToString();
    }
}
