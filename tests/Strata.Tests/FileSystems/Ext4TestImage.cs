using Strata.FileSystems;
using Strata.Tests.TestSupport;

namespace Strata.Tests.FileSystems;

/// <summary>A sample tree and an ext4 image made from it by the real mkfs.ext4 -d, in a temporary folder.</summary>
internal sealed class Ext4TestImage : IDisposable
{
    private readonly TempFolder _folder = new("ext4");

    public Ext4TestImage(string mkfs = "mkfs.ext4", bool withHugeFile = true, params string[] options)
    {
        Source = _folder.Combine("source");
        SampleTree.Create(Source, withHugeFile);
        Image = _folder.Combine("fs.img");
        ExternalTool.Run(mkfs, ["-q", "-F", "-d", Source, .. options, Image, "64M"]);
    }

    public string Source { get; }
    public string Image { get; }
    public string Target => _folder.Combine("target");

    public string Combine(params string[] parts) => _folder.Combine(parts);

    public string Debugfs(string request) => ExternalTool.Run("debugfs", "-R", request, Image);

    public async Task<FileLevelRestoreResult> RestoreAsync(string path = "/", string? image = null, int? partition = null)
    {
        using var source = FileBlockSource.Open(image ?? Image);
        var (fs, _) = await DiskVolumes.OpenExt4Async(source, partition, CancellationToken.None);
        return await new FileLevelRestore(fs, Target).RestoreAsync(path, CancellationToken.None);
    }

    /// <summary>Restores everything and checks it against the source (lost+found, which mkfs adds, aside).</summary>
    public async Task AssertRestoresIdenticalAsync(string? image = null, int? partition = null)
    {
        var result = await RestoreAsync("/", image, partition);
        Assert.Empty(result.Errors);
        Assert.True(Directory.Exists(Path.Combine(Target, "lost+found")));
        Directory.Delete(Path.Combine(Target, "lost+found"));
        TreeComparison.AssertSame(Source, Target);
        Assert.Equal(Strata.Platform.Posix.LStat(Path.Combine(Target, "hard-1")).Inode, Strata.Platform.Posix.LStat(Path.Combine(Target, "links/hard-2")).Inode);
    }

    public void Dispose() => _folder.Dispose();
}
