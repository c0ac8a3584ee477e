using Strata.Images;
using Strata.Snapshots;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Images;

/// <summary>A temporary folder with a repository, for backing disks up and restoring them through the engine.</summary>
public sealed class ImageWorkspace : IAsyncDisposable
{
    public const long MiB = 1 << 20;
    private readonly TempFolder _folder;

    private ImageWorkspace(TempFolder folder, Strata.Repository.Repository repo)
    {
        _folder = folder;
        Repo = repo;
    }

    public Strata.Repository.Repository Repo { get; private set; }
    public string RepositoryPath => _folder.Combine("repo");
    public List<string> Notes { get; } = new();

    public static async Task<ImageWorkspace> CreateAsync()
    {
        var folder = new TempFolder("images");
        return new ImageWorkspace(folder, await TestRepositories.InitAsync(Path.Combine(folder.Path, "repo")));
    }

    public string PathOf(string name) => Path.Combine(_folder.Path, name);

    public async Task<ImageBackupResult> BackupAsync(string source, string? cbt = null, string? name = null, int? blockSize = null)
    {
        // A fresh repository object per run, as separate invocations of strata would have.
        Repo.Dispose();
        Repo = await TestRepositories.OpenAsync(Path.Combine(_folder.Path, "repo"));
        var backup = new ImageBackup(Repo, new ImageBackupOptions { Source = source, CbtBitmap = cbt, Name = name, BlockSize = blockSize, Host = "test-host" });
        backup.OnNote = Notes.Add;
        return await backup.RunAsync();
    }

    public async Task<ImageRestoreResult> RestoreAsync(Snapshot snapshot, string target, bool incremental = false, string? bitmap = null, string? baseSnapshot = null)
    {
        Repo.Dispose();
        Repo = await TestRepositories.OpenAsync(Path.Combine(_folder.Path, "repo"));
        var restore = new ImageRestore(Repo, snapshot, new ImageRestoreOptions { Target = target, Incremental = incremental, TargetBitmap = bitmap, Base = baseSnapshot });
        restore.OnNote = Notes.Add;
        return await restore.RunAsync();
    }

    /// <summary>Restores <paramref name="snapshot"/> to a new raw file and checks it equals <paramref name="disk"/> as it is now.</summary>
    public async Task AssertRestoresToAsync(Snapshot snapshot, string disk, string format)
    {
        var target = PathOf($"restored-{Guid.NewGuid():N}.raw");
        await RestoreAsync(snapshot, target);
        Assert.True(Qemu.Identical(target, "raw", disk, format), $"snapshot {snapshot.Id.ToShortString()} does not restore to {disk}");
        File.Delete(target);
    }

    /// <summary>A sparse raw file of <paramref name="size"/> bytes with the given writes.</summary>
    public string RawDisk(string name, long size, params (long Offset, byte[] Data)[] writes) => RawDisks.Create(PathOf(name), size, writes);

    public static void WriteAt(string path, long offset, byte[] data)
    {
        using var f = new FileStream(path, FileMode.Open);
        f.Position = offset;
        f.Write(data);
    }

    public ValueTask DisposeAsync()
    {
        Repo.Dispose();
        _folder.Dispose();
        return ValueTask.CompletedTask;
    }
}
