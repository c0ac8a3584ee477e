namespace Strata.Cli.Output;

/// <summary>Whether a person is watching: progress is drawn only on a terminal, never into a pipe or file.</summary>
public static class Terminal
{
    public static bool StderrIsTerminal => !Console.IsErrorRedirected;
    public static bool StdinIsTerminal => !Console.IsInputRedirected;

    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1) { value /= 1024; unit++; }
        return unit == 0 ? $"{bytes} B" : $"{value:0.00} {units[unit]}";
    }

    public static string Duration(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
}
