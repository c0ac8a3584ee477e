using Strata.Errors;
using Strata.Nbd;
using Strata.Platform;

namespace Strata.Images;

/// <summary>What a SOURCE or --target argument names: an NBD export, a running VM's disk (QMP), a block device, a qcow2 file, a raw file (or nothing yet).</summary>
public sealed record ImageLocation(ImageLocation.Kinds Kind, string Text, string? Path, NbdAddress? Address, Qmp.QmpSource? Vm = null)
{
    public enum Kinds { Nbd, Qmp, Device, Qcow2, Raw, Missing }

    public string KindName => Kind switch
    {
        Kinds.Nbd => "nbd",
        Kinds.Qmp => "qmp",
        Kinds.Device => "device",
        Kinds.Qcow2 => "qcow2",
        _ => "raw",
    };

    /// <summary>The name recorded for the disk when the user gives none: the absolute path or the NBD address.</summary>
    public string DefaultName => Path ?? Text;

    public static ImageLocation Parse(string text)
    {
        if (NbdAddress.LooksLikeNbd(text)) return new ImageLocation(Kinds.Nbd, text, null, NbdAddress.Parse(text));
        if (Qmp.QmpSource.LooksLikeQmp(text)) return new ImageLocation(Kinds.Qmp, text, null, null, Qmp.QmpSource.Parse(text));
        var full = System.IO.Path.GetFullPath(text);
        if (!Posix.TryLStat(full, out _)) return new ImageLocation(Kinds.Missing, text, full, null);
        var info = new FileInfo(full);
        var resolved = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full : full;
        if (!Posix.TryLStat(resolved, out var status)) throw new UsageException($"{text} is a dangling symbolic link");
        return status.Kind switch
        {
            FileKind.BlockDevice => new ImageLocation(Kinds.Device, text, full, null),
            FileKind.Regular => new ImageLocation(QemuImg.IsQcow2(full) ? Kinds.Qcow2 : Kinds.Raw, text, full, null),
            FileKind.Directory => throw new UsageException($"{text} is a directory; 'strata image' reads and writes disk images (use 'strata backup' for directories)"),
            _ => throw new UsageException($"{text} is neither a disk image file, a block device nor an NBD address"),
        };
    }

    /// <summary>Opens the location as a disk; qcow2 files through a private qemu-nbd.</summary>
    public async Task<IBlockDevice> OpenAsync(bool writable, IReadOnlyList<string> dirtyBitmaps, CancellationToken ct) => Kind switch
    {
        Kinds.Nbd => await NbdBlockDevice.ConnectAsync(Address!, dirtyBitmaps, ct).ConfigureAwait(false),
        Kinds.Qcow2 => await NbdBlockDevice.OpenWithQemuNbdAsync(Path!, "qcow2", writable, dirtyBitmaps, ct).ConfigureAwait(false),
        Kinds.Missing => throw new UsageException($"{Text} does not exist"),
        // Only 'image backup' reads a running VM (through a point-in-time export, QmpBackupSession); writing under a running guest would corrupt it.
        Kinds.Qmp => throw new UsageException($"{Text} is a running VM's disk: only 'strata image backup' reads it; restore into a disk the VM does not use"),
        _ => FileBlockDevice.Open(Path!, writable),
    };
}
