namespace Strata.Locking;

/// <summary>Whether a process of this host is still the one that wrote a lease.</summary>
internal static class ProcessLiveness
{
    public static int CurrentPid => Environment.ProcessId;

    public static long StartTimeOf(int pid)
    {
        try
        {
            // Field 22 of /proc/PID/stat; the command name (field 2) may contain spaces, so count after its ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    public static bool IsAlive(int pid, long startTime) => pid > 0 && StartTimeOf(pid) is var now && now >= 0 && now == startTime;
}
