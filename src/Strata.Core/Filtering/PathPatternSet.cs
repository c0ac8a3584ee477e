using System.Text;
using System.Text.RegularExpressions;
using Strata.Errors;

namespace Strata.Filtering;

/// <summary>
/// restic-style path patterns, used for --exclude and --include. <c>*</c> and <c>?</c> stay within one path component,
/// <c>**</c> spans components, <c>[abc]</c> is a class. A pattern starting with <c>/</c> is anchored
/// at the file-system root; any other pattern matches the end of a path at a component boundary,
/// so <c>*.tmp</c> matches every .tmp file and <c>cache/*</c> the contents of every cache folder.
/// A path also matches when one of its ancestors does.
/// </summary>
public sealed class PathPatternSet
{
    private readonly List<Regex> _patterns = new();

    public PathPatternSet(IEnumerable<string> patterns)
    {
        foreach (var raw in patterns)
        {
            var pattern = raw.Trim();
            if (pattern.Length == 0 || pattern.StartsWith('#')) continue;
            _patterns.Add(new Regex(ToRegex(pattern), RegexOptions.CultureInvariant | RegexOptions.Compiled));
        }
    }

    public bool IsEmpty => _patterns.Count == 0;

    public static PathPatternSet FromFiles(IEnumerable<string> patterns, IEnumerable<string> files)
    {
        var all = new List<string>(patterns);
        foreach (var file in files)
        {
            try { all.AddRange(File.ReadAllLines(file)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot read pattern file {file}: {e.Message}");
            }
        }
        return new PathPatternSet(all);
    }

    /// <summary>True when the absolute path <paramref name="path"/> or one of its ancestors matches a pattern.</summary>
    public bool Matches(string path)
    {
        foreach (var regex in _patterns)
            if (regex.IsMatch(path)) return true;
        return false;
    }

    private static string ToRegex(string pattern)
    {
        var sb = new StringBuilder();
        bool anchored = pattern.StartsWith('/');
        sb.Append(anchored ? "^" : "(^|/)");
        var body = pattern.TrimEnd('/');
        if (anchored) body = body[1..];
        if (anchored) sb.Append('/');
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            switch (c)
            {
                case '*' when i + 1 < body.Length && body[i + 1] == '*':
                    sb.Append(".*");
                    i++;
                    if (i + 1 < body.Length && body[i + 1] == '/') { sb.Append("/?"); i++; }
                    break;
                case '*': sb.Append("[^/]*"); break;
                case '?': sb.Append("[^/]"); break;
                case '[':
                    int end = body.IndexOf(']', i + 1);
                    if (end < 0) throw new UsageException($"pattern '{pattern}' has an unclosed '['");
                    var cls = body[(i + 1)..end];
                    sb.Append('[').Append(cls.StartsWith('!') ? "^" + Regex.Escape(cls[1..]) : Regex.Escape(cls)).Append(']');
                    i = end;
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        sb.Append("(/.*)?$");
        return sb.ToString();
    }
}
