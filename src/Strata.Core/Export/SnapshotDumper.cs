using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Strata.Errors;
using Strata.Platform;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Export;

/// <summary>
/// <c>strata dump</c>: writes a file snapshot (or a path inside it) as a standard archive to a
/// stream, walking the trees as it goes and streaming each file's chunks, so nothing is staged on
/// disk and memory does not grow with the snapshot. Entry names are relative: the dumped path's
/// last component and everything below it (the snapshot's whole tree for "/").
/// </summary>
public static class SnapshotDumper
{
    public static async Task<DumpResult> DumpAsync(Repository.Repository repo, Snapshot snapshot, string path, ArchiveFormat format, Stream output, CancellationToken ct)
    {
        var start = "/" + path.Trim('/');
        var top = await TreeWalker.FindAsync(repo, snapshot.Tree, start, ct).ConfigureAwait(false)
            ?? throw new UsageException($"{start} is not in snapshot {snapshot.Id.ToShortString()}");
        string baseName = start == "/" ? "" : start[(start.LastIndexOf('/') + 1)..];
        var writer = new EntryWriter(repo, format, output);
        try
        {
            if (baseName != "") writer.Write(baseName, top);
            if (top is { IsDirectory: true, Subtree: { } subtree })
                await foreach (var (p, node) in TreeWalker.WalkAsync(repo, subtree, baseName, ct).ConfigureAwait(false))
                {
                    ct.ThrowIfCancellationRequested();
                    writer.Write(p.TrimStart('/'), node);
                }
        }
        finally
        {
            writer.Dispose();
        }
        return writer.Result();
    }

    /// <summary>One archive being written: tar or zip, plus what hard links have been seen.</summary>
    private sealed class EntryWriter(Repository.Repository repo, ArchiveFormat format, Stream output) : IDisposable
    {
        private readonly TarWriter? _tar = format == ArchiveFormat.Tar ? new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true) : null;
        private readonly ZipArchive? _zip = format == ArchiveFormat.Zip ? new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true) : null;
        private readonly Dictionary<(ulong Device, ulong Inode), string> _firstLink = new();
        private readonly List<string> _skipped = new();
        private long _entries, _files, _bytes, _fetched;

        public DumpResult Result() => new(_entries, _files, _bytes, _fetched, _skipped);

        public void Write(string name, Node node)
        {
            if (_tar is not null) WriteTar(name, node);
            else WriteZip(name, node);
        }

        private void WriteTar(string name, Node node)
        {
            string? linkedTo = null;
            if (node.IsFile && node.Links > 1 && node.Inode != 0)
            {
                if (_firstLink.TryGetValue((node.DeviceId, node.Inode), out var first)) linkedTo = first;
                else _firstLink[(node.DeviceId, node.Inode)] = name;
            }
            var type = linkedTo is not null ? TarEntryType.HardLink : node.Type switch
            {
                Node.DirType => TarEntryType.Directory,
                Node.SymlinkType => TarEntryType.SymbolicLink,
                Node.FifoType => TarEntryType.Fifo,
                Node.CharDeviceType => TarEntryType.CharacterDevice,
                Node.BlockDeviceType => TarEntryType.BlockDevice,
                Node.FileType => TarEntryType.RegularFile,
                _ => (TarEntryType)0,
            };
            if (type == 0)
            {
                _skipped.Add($"{name} ({node.Type}: tar cannot hold it)");
                return;
            }
            var entry = new PaxTarEntry(type, node.IsDirectory ? name + "/" : name, PaxRecords(node))
            {
                Mode = (UnixFileMode)(node.Mode & 0xFFF),
                Uid = (int)node.Uid,
                Gid = (int)node.Gid,
                UserName = node.User ?? "",
                GroupName = node.Group ?? "",
                ModificationTime = TimeOf(node.MtimeNs),
            };
            if (type == TarEntryType.HardLink) entry.LinkName = linkedTo!;
            else if (type == TarEntryType.SymbolicLink) entry.LinkName = node.LinkTarget ?? "";
            else if (type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
            {
                entry.DeviceMajor = (int)Posix.Major(node.RDev);
                entry.DeviceMinor = (int)Posix.Minor(node.RDev);
            }
            SnapshotFileStream? content = null;
            if (type == TarEntryType.RegularFile)
            {
                content = new SnapshotFileStream(repo, node);
                entry.DataStream = content;
            }
            _tar!.WriteEntry(entry);
            Count(node, content);
        }

        /// <summary>
        /// Access and change times (the mtime, as a restore sets them) and xattrs as GNU tar writes them
        /// (SCHILY.xattr.NAME); values that are not UTF-8 text, which .NET's pax records cannot carry
        /// byte for byte, go as libarchive's base64 LIBARCHIVE.xattr.NAME instead.
        /// </summary>
        private static Dictionary<string, string> PaxRecords(Node node)
        {
            var time = (node.MtimeNs / 1_000_000_000).ToString(CultureInfo.InvariantCulture) + "." + Math.Abs(node.MtimeNs % 1_000_000_000).ToString("D9", CultureInfo.InvariantCulture);
            var records = new Dictionary<string, string> { ["atime"] = time, ["ctime"] = time };
            foreach (var x in node.Xattrs ?? [])
            {
                if (IsText(x.Value)) records["SCHILY.xattr." + x.Name] = Encoding.UTF8.GetString(x.Value);
                else records["LIBARCHIVE.xattr." + Uri.EscapeDataString(x.Name)] = Convert.ToBase64String(x.Value);
            }
            return records;
        }

        private static bool IsText(byte[] value)
        {
            if (value.AsSpan().IndexOf((byte)0) >= 0) return false;
            try { _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value); return true; }
            catch (DecoderFallbackException) { return false; }
        }

        private void WriteZip(string name, Node node)
        {
            const uint dosDirectory = 0x10;
            var (entryName, level, attributes) = node.Type switch
            {
                Node.DirType => (name + "/", CompressionLevel.NoCompression, ((0x4000u | (node.Mode & 0xFFF)) << 16) | dosDirectory),
                // Info-ZIP's convention: the target is the entry's data, the type is in the mode.
                Node.SymlinkType => (name, CompressionLevel.NoCompression, (0xA000u | 0x1FF) << 16),
                Node.FileType => (name, CompressionLevel.Fastest, (0x8000u | (node.Mode & 0xFFF)) << 16),
                _ => (null, CompressionLevel.NoCompression, 0u),
            };
            if (entryName is null)
            {
                _skipped.Add($"{name} ({node.Type}: zip cannot hold it)");
                return;
            }
            // Metadata first: an entry cannot be changed once its data has been written.
            var entry = _zip!.CreateEntry(entryName, level);
            entry.ExternalAttributes = unchecked((int)attributes);
            entry.LastWriteTime = ZipTime(node.MtimeNs);
            SnapshotFileStream? content = null;
            if (node.IsSymlink)
            {
                using var s = entry.Open();
                s.Write(Encoding.UTF8.GetBytes(node.LinkTarget ?? ""));
            }
            else if (node.IsFile)
            {
                content = new SnapshotFileStream(repo, node);
                using var s = entry.Open();
                content.CopyTo(s, 1 << 20);
            }
            Count(node, content);
        }

        private void Count(Node node, SnapshotFileStream? content)
        {
            _entries++;
            if (content is null) return;
            _files++;
            _bytes += content.Length;
            _fetched += content.BytesFetched;
        }

        private static DateTimeOffset TimeOf(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100);

        /// <summary>Zip stores local time from 1980 to 2107 in 2-second steps; times outside are clamped.</summary>
        private static DateTimeOffset ZipTime(long ns)
        {
            var local = TimeOf(ns).ToLocalTime();
            var min = new DateTimeOffset(1980, 1, 1, 0, 0, 0, local.Offset);
            var max = new DateTimeOffset(2107, 12, 31, 23, 59, 58, local.Offset);
            return local < min ? min : local > max ? max : local;
        }

        public void Dispose()
        {
            _tar?.Dispose();
            _zip?.Dispose();
        }
    }
}
