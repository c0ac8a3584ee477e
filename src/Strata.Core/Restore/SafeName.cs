namespace Strata.Restore;

/// <summary>
/// A name from a snapshot may come from a damaged or hostile repository: it becomes a path
/// component only if it cannot climb out of, or jump across, the directory being restored.
/// </summary>
public static class SafeName
{
    public static bool IsSafe(string name) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(['/', '\0']) < 0 && name.Length <= 255;
}
