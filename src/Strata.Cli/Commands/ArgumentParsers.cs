using System.Globalization;
using Strata.Errors;

namespace Strata.Cli.Commands;

/// <summary>Sizes ("500M", "2GiB"), percentages ("5%") and short durations ("90s", "10min", "2h", "1d") given on the command line.</summary>
internal static class ArgumentParsers
{
    public static long Size(string text, string option)
    {
        var t = text.Trim().ToUpperInvariant().TrimEnd('B').Replace("I", "", StringComparison.Ordinal);
        long factor = t.Length == 0 ? 1 : t[^1] switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, 'T' => 1L << 40, _ => 1 };
        if (factor > 1) t = t[..^1];
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new UsageException($"{option}: '{text}' is not a size (examples: 500M, 2G, 1T)");
        return (long)(value * factor);
    }

    public static double Fraction(string text, string option)
    {
        var t = text.Trim().TrimEnd('%');
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) || percent is < 0 or > 100)
            throw new UsageException($"{option}: '{text}' is not a percentage between 0% and 100%");
        return percent / 100;
    }

    public static TimeSpan Duration(string text, string option)
    {
        var t = text.Trim();
        // "m" is left out on purpose: in retention rules it means months.
        foreach (var (suffix, unit) in new[] { ("min", TimeSpan.FromMinutes(1)), ("s", TimeSpan.FromSeconds(1)), ("h", TimeSpan.FromHours(1)), ("d", TimeSpan.FromDays(1)) })
        {
            if (t.Length > suffix.Length && t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
                return unit * n;
        }
        throw new UsageException($"{option}: '{text}' is not a duration (examples: 90s, 10min, 2h, 1d)");
    }
}
