using System.Runtime.CompilerServices;
using Strata.Errors;
using Strata.Platform;

namespace Strata.FileSystems.Ext4;

/// <summary>
/// Walks everything below a directory depth-first, yielding each entry's path and inode. An
/// explicit stack instead of recursion, and a directory reached a second time (impossible in a
/// sound ext4, where directories have one parent) is reported instead of walked, so damaged images
/// cannot loop or overflow the stack. Damaged entries and directories go to <paramref name="onError"/>.
/// </summary>
public static class Ext4TreeWalker
{
    public static async IAsyncEnumerable<(string Path, Ext4Inode Inode)> WalkAsync(Ext4FileSystem fs, Ext4Inode directory, string path,
        Action<string> onError, [EnumeratorCancellation] CancellationToken ct)
    {
        var seen = new HashSet<uint> { directory.Number };
        var stack = new Stack<(List<Ext4DirectoryEntry> Entries, int Next, string Path)>();
        stack.Push((await EntriesAsync(fs, directory, path.TrimEnd('/'), onError, ct).ConfigureAwait(false), 0, path.TrimEnd('/')));
        while (stack.Count > 0)
        {
            var (entries, next, dirPath) = stack.Pop();
            if (next == entries.Count) continue;
            stack.Push((entries, next + 1, dirPath));
            var entry = entries[next];
            string entryPath = dirPath + "/" + entry.Name;
            Ext4Inode inode;
            try { inode = await fs.ReadInodeAsync(entry.Inode, ct).ConfigureAwait(false); }
            catch (StrataException e) { onError($"{entryPath}: {e.Message}"); continue; }
            yield return (entryPath, inode);
            if (inode.Kind != FileKind.Directory) continue;
            if (!seen.Add(inode.Number))
            {
                onError($"{entryPath}: directory inode {inode.Number} is linked from a second place (a damaged file system), not walked again");
                continue;
            }
            stack.Push((await EntriesAsync(fs, inode, entryPath, onError, ct).ConfigureAwait(false), 0, entryPath));
        }
    }

    /// <summary>A directory's entries sorted by name; what could be read of them when it is damaged.</summary>
    public static async Task<List<Ext4DirectoryEntry>> EntriesAsync(Ext4FileSystem fs, Ext4Inode directory, string path, Action<string> onError, CancellationToken ct)
    {
        var entries = new List<Ext4DirectoryEntry>();
        try
        {
            await foreach (var e in fs.ReadDirectoryAsync(directory, ct).ConfigureAwait(false)) entries.Add(e);
        }
        catch (StrataException e)
        {
            onError($"{(path.Length == 0 ? "/" : path)}: {e.Message}");
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return entries;
    }
}
