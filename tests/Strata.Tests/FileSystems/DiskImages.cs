namespace Strata.Tests.FileSystems;

/// <summary>Partitioned disk images made with the real parted and sfdisk, with file system images copied into their partitions.</summary>
internal static class DiskImages
{
    public const long MiB = 1 << 20;

    /// <summary>A GPT disk: partition 1 "esp" (8 MiB, no file system), partition 2 "root" (70 MiB) holding <paramref name="fsImage"/>.</summary>
    public static string Gpt(string path, string fsImage)
    {
        ExternalTool.Run("truncate", "-s", "80M", path);
        ExternalTool.Run("parted", "-s", path, "mklabel", "gpt", "mkpart", "esp", "fat32", "1MiB", "9MiB", "mkpart", "root", "ext4", "9MiB", "79MiB");
        CopyInto(path, 9 * MiB, fsImage);
        return path;
    }

    /// <summary>
    /// An MBR disk: primary partition 1 (8 MiB, FAT type, no file system), extended partition 2,
    /// logical partitions 5 (70 MiB, <paramref name="fsImage"/>) and 6 (70 MiB, <paramref name="second"/> or empty).
    /// </summary>
    public static string Mbr(string path, string fsImage, string? second = null)
    {
        ExternalTool.Run("truncate", "-s", "160M", path);
        ExternalTool.RunWithInput("sfdisk", "label: dos\nstart=2048, size=16384, type=c\nstart=18432, type=5\nstart=20480, size=143360, type=83\nstart=165888, size=143360, type=83\n", "-q", path);
        CopyInto(path, 20480 * 512L, fsImage);
        if (second is not null) CopyInto(path, 165888 * 512L, second);
        return path;
    }

    /// <summary>Copies an image into a disk at an offset, leaving all-zero blocks as holes.</summary>
    public static void CopyInto(string disk, long offset, string image)
    {
        using var input = File.OpenRead(image);
        using var output = new FileStream(disk, FileMode.Open, FileAccess.Write);
        var buffer = new byte[64 << 10];
        long position = 0;
        int n;
        while ((n = input.Read(buffer)) > 0)
        {
            if (buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0) >= 0)
            {
                output.Position = offset + position;
                output.Write(buffer, 0, n);
            }
            position += n;
        }
    }

    /// <summary>XORs one byte of a file with 0xFF.</summary>
    public static void FlipByte(string path, long offset)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0xFF));
    }
}
