using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Strata.Platform;

namespace Strata.Fuse;

/// <summary>What is mounted where (<c>/proc/self/mountinfo</c>), and unmounting a FUSE mount.</summary>
internal static unsafe class MountTable
{
    private const int MntDetach = 2;

    /// <summary>Whether something is mounted exactly at <paramref name="directory"/> (an absolute, normalized path).</summary>
    public static bool IsMountPoint(string directory)
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": field 5 is the mount point, octal-escaped.
            var fields = line.Split(' ');
            if (fields.Length > 4 && Unescape(fields[4]) == directory) return true;
        }
        return false;
    }

    /// <summary>
    /// Unmounts; a mount still in use (a shell inside it, an open file) is detached at once and goes
    /// away when its last user leaves. Root calls umount2 itself; anyone else asks fusermount3.
    /// </summary>
    public static void Unmount(string mountpoint)
    {
        if (LibC.geteuid() == 0)
        {
            var path = Encoding.UTF8.GetBytes(mountpoint + "\0");
            fixed (byte* p = path)
            {
                if (umount2(p, 0) == 0) return;
                umount2(p, MntDetach);
            }
            return;
        }
        try
        {
            using var process = Process.Start(new ProcessStartInfo("fusermount3", ["-u", "-z", mountpoint]) { UseShellExecute = false, RedirectStandardError = true });
            process?.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception) { /* no fusermount3: the mount could not have been made either */ }
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var bytes = new List<byte>(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                bytes.Add((byte)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else bytes.AddRange(Encoding.UTF8.GetBytes(field[i].ToString()));
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOctal(string s, int start) =>
        start + 3 <= s.Length && s[start] is >= '0' and <= '7' && s[start + 1] is >= '0' and <= '7' && s[start + 2] is >= '0' and <= '7';

    [DllImport("libc", SetLastError = true)] private static extern int umount2(byte* target, int flags);
}
