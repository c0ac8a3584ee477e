using System.Diagnostics;
using Strata.Errors;
using Strata.Images.Qmp;
using Strata.Platform;
using Strata.Locking;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Images;

/// <summary>
/// Backs up one disk into an image snapshot (docs/ARCHITECTURE.md, "Image backup data flow").
/// With a usable dirty bitmap only the dirty blocks are read and every other block is taken from
/// the parent's block map; without one, every allocated block is read and hashed, and only blocks
/// the repository lacks are compressed, encrypted and stored. Zero and unallocated blocks are
/// neither read nor stored. The snapshot is saved last (FORMAT.md I2); the bitmap is rotated
/// only after that, so a failure anywhere leaves the next backup reading more, never less.
/// </summary>
public sealed class ImageBackup(Repository.Repository repo, ImageBackupOptions options)
{
    private readonly List<string> _notes = new();

    public ImageProgress Progress { get; } = new();

    /// <summary>Called with each note worth telling the user (why a full read happens, and the like).</summary>
    public Action<string>? OnNote { get; set; }

    public async Task<ImageBackupResult> RunAsync(CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var start = DateTimeOffset.Now;
        var location = ImageLocation.Parse(options.Source);
        if (location.Kind == ImageLocation.Kinds.Missing) throw new UsageException($"{options.Source} does not exist");
        var cbt = options.CbtBitmap;
        if (cbt is not null && location.Kind is not (ImageLocation.Kinds.Qcow2 or ImageLocation.Kinds.Nbd or ImageLocation.Kinds.Qmp))
            throw new UsageException($"--cbt qemu-bitmap needs a qcow2 image, a running VM (qmp://) or an NBD export; {options.Source} is a {location.KindName} image (without --cbt, Strata reads it whole and stores only changed blocks)");
        if (options.BlockSize is { } requested) BlockMap.ValidateBlockSize(requested);

        // As for file backups (FORMAT.md I6): the lease first, then the index and the garbage records.
        await using var lease = await Leases.AcquireAsync(repo, Lease.Backup, ct).ConfigureAwait(false);
        // The parent before the index (FORMAT.md I2): a parent saved by a concurrent backup is then fully indexed.
        string name = options.Name ?? location.DefaultName;
        var parent = await ImageSnapshots.LatestAsync(repo, name, options.Host, ct).ConfigureAwait(false);
        await repo.LoadIndexAsync(ct).ConfigureAwait(false);
        var parentMap = parent is null ? null : await ImageSnapshots.LoadMapAsync(repo, parent, ct).ConfigureAwait(false);
        int blockSize = options.BlockSize ?? parentMap?.BlockSize ?? BlockMap.DefaultBlockSize;

        QemuBitmapRotation? rotation = null;
        CbtBitmapState? bitmapState = null;
        await using var vm = location.Vm is null ? null : await QmpBackupSession.OpenAsync(location.Vm, cbt, ct).ConfigureAwait(false);
        if (vm is not null)
        {
            bitmapState = vm.BitmapState;
        }
        else if (cbt is not null && location.Kind == ImageLocation.Kinds.Qcow2)
        {
            rotation = new QemuBitmapRotation(location.Path!, cbt);
            bitmapState = await rotation.PrepareAsync(ct).ConfigureAwait(false);
        }

        Snapshot snapshot;
        long bytesRead = 0, bytesChanged, dataAdded;
        bool fullRead;
        try
        {
            string? exportBitmap = cbt is not null && (bitmapState is null || bitmapState.Usable) ? cbt : null;
            await using (var device = vm is not null ? await vm.ExportAsync(ct).ConfigureAwait(false)
                : await location.OpenAsync(writable: false, exportBitmap is null ? [] : [exportBitmap], ct).ConfigureAwait(false))
            {
                if (device is FileBlockDevice { InUseElsewhere: true })
                    Note($"{options.Source} is in use (mounted?): it may change while it is read, so this backup is only as consistent as the disk after a power cut; for a consistent copy back up a snapshot of it (LVM, or a frozen file system)");
                long size = device.Size;
                var map = new BlockMap(size, blockSize);
                var toRead = new BlockSet(map.BlockCount);
                string? whyFull = WhyNotCbt(cbt, bitmapState, device, parent, parentMap, size, blockSize);
                fullRead = whyFull is not null;
                if (cbt is not null && fullRead) Note($"reading the whole image: {whyFull}");
                if (parentMap is not null && parentMap.ImageSize != size)
                    Note($"the image is now {size} bytes; it was {parentMap.ImageSize} bytes at snapshot {parent!.Id.ToShortString()}");

                if (!fullRead)
                {
                    map.Blocks.CopyFrom(parentMap!.Blocks);
                    foreach (var e in await ((NbdBlockDevice)device).DirtyExtentsAsync(cbt!, ct).ConfigureAwait(false)) toRead.AddBytes(e, blockSize);
                    // A block whose only stored copy a pending prune condemned is stored again (FORMAT.md §12):
                    // it did not change, so reading it from the source gives the same bytes.
                    foreach (var (b, id) in map.Blocks.DataBlocks())
                        if (!repo.Index.Contains(id)) toRead.Add(b);
                }
                else
                {
                    foreach (var e in await device.DataExtentsAsync(ct).ConfigureAwait(false)) toRead.AddBytes(e, blockSize);
                }
                Progress.SetTotal(toRead.Count * (long)blockSize);

                await using (var writer = new BlobWriter(repo))
                {
                    await BlockRunReader.ReadAsync(device, toRead, blockSize, size, (block, data) =>
                    {
                        map.Blocks[block] = data.IndexOfAnyExcept((byte)0) < 0 ? default : writer.Save(BlobType.Data, data, out _);
                    }, n => { Interlocked.Add(ref bytesRead, n); Progress.Add(n); }, ct).ConfigureAwait(false);

                    BlobId? changesId = null;
                    if (parentMap is not null && parentMap.BlockSize == blockSize)
                    {
                        var changed = map.Difference(parentMap).ToExtents(blockSize, size);
                        bytesChanged = changed.Sum(e => e.Length);
                        changesId = writer.Save(BlobType.Tree, ChangedExtentList.Encode(changed), out _);
                    }
                    else
                    {
                        bytesChanged = map.DataBytes;
                    }
                    var root = BlockMapStore.Save(writer, map);
                    await writer.FlushAsync(ct).ConfigureAwait(false);
                    dataAdded = writer.BytesAdded;

                    snapshot = new Snapshot
                    {
                        Time = start,
                        Kind = Snapshot.ImageKind,
                        Tree = root,
                        Paths = [location.DefaultName],
                        Hostname = options.Host,
                        Username = Environment.UserName,
                        Uid = Posix.EffectiveUid,
                        Gid = Posix.EffectiveGid,
                        Tags = options.Tags.Count > 0 ? options.Tags.ToList() : null,
                        Parent = parent?.Id,
                        ProgramVersion = StrataVersion.Text,
                        Image = new ImageInfo
                        {
                            Name = name,
                            Source = location.DefaultName,
                            SourceKind = location.KindName,
                            Size = size,
                            BlockSize = blockSize,
                            Changes = changesId,
                            ChangedSince = changesId is null ? null : parent!.Id,
                            Cbt = cbt is null ? null : "qemu-bitmap:" + cbt,
                            FullRead = fullRead,
                            BytesRead = bytesRead,
                            BytesChanged = bytesChanged,
                            DataAdded = dataAdded,
                            BackupStart = start,
                            BackupEnd = DateTimeOffset.Now,
                        },
                    };
                    // Last write of the backup: only now does anything reference the new packs (FORMAT.md I2).
                    lease.EnsureValid();
                    await repo.SaveSnapshotAsync(snapshot, ct).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            if (rotation is not null) await rotation.AbandonAsync().ConfigureAwait(false);
            if (vm is not null && await vm.AbandonAsync(e).ConfigureAwait(false) is { } explained) throw explained;
            throw;
        }
        // qemu-nbd has stopped (the device is disposed), so qemu-img can take the image's lock;
        // QEMU's export of a running VM is gone, so its bitmaps are no longer busy.
        if (rotation is not null) await rotation.CommitAsync(snapshot.Id, ct).ConfigureAwait(false);
        if (vm is not null && await vm.CommitAsync(snapshot.Id, ct).ConfigureAwait(false) is { } notRotated) Note(notRotated);
        return new ImageBackupResult(snapshot, snapshot.Image!.Size, bytesRead, bytesChanged, dataAdded, fullRead, clock.Elapsed, _notes);
    }

    /// <summary>Null when the dirty bitmap can stand in for reading the image; otherwise why not.</summary>
    private static string? WhyNotCbt(string? cbt, CbtBitmapState? state, IBlockDevice device, Snapshot? parent, BlockMap? parentMap, long size, int blockSize)
    {
        if (cbt is null) return "no changed-block tracking was asked for";
        if (state is { Usable: false }) return state.Reason;
        if (device is NbdBlockDevice nbd && !nbd.HasDirtyBitmap(cbt)) return $"the NBD export has no dirty bitmap '{cbt}'";
        if (parent is null || parentMap is null) return "this is the first backup of this disk";
        if (parent.Image!.Cbt != "qemu-bitmap:" + cbt) return $"the previous snapshot {parent.Id.ToShortString()} was not taken with this bitmap";
        if (state is { CountsFrom: null })
            return $"dirty bitmap '{cbt}' was not started by a Strata backup, so it is unknown since when it counts";
        // A copy of the snapshot the bitmap counts from (strata copy, replicate) holds the same disk; a repaired one does not.
        if (state is not null && !ImageSnapshots.HoldsSameDiskAs(parent, state.CountsFrom!.Value))
            return $"dirty bitmap '{cbt}' counts from snapshot {state.CountsFrom!.Value.ToShortString()}, not from the previous snapshot {parent.Id.ToShortString()} of this disk";
        if (parentMap.ImageSize != size) return "the image changed size";
        if (parentMap.BlockSize != blockSize) return "the block size changed";
        return null;
    }

    private void Note(string text)
    {
        _notes.Add(text);
        OnNote?.Invoke(text);
    }
}
