namespace Strata;

public static class StrataVersion
{
    public static string Text { get; } = "strata " + (typeof(StrataVersion).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
}
