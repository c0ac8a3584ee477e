using Strata.Platform;

namespace Strata.Tests.Platform;

public sealed class PosixHandleTests : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void SeekData_and_SeekHole_find_the_written_extent_of_a_sparse_file()
    {
        string path = _dir.Combine("sparse");
        using (var f = File.Create(path))
        {
            f.SetLength(4 * MiB);
            f.Position = MiB;
            f.Write(Enumerable.Repeat((byte)7, 4096).ToArray());
        }
        using var handle = File.OpenHandle(path);

        long data = Posix.SeekData(handle, 0);
        long hole = Posix.SeekHole(handle, data);

        // A file system may round extents to its block size, or (without hole support) report all data.
        Assert.InRange(data, 0, MiB);
        Assert.InRange(hole, MiB + 4096, 4 * MiB);
        if (data == MiB)
            Assert.Equal(-1, Posix.SeekData(handle, 2 * MiB));
    }

    [Fact]
    public void SeekData_returns_minus_one_at_end_of_file()
    {
        string path = _dir.WriteFile("file", "abc");
        using var handle = File.OpenHandle(path);

        Assert.Equal(0, Posix.SeekData(handle, 0));
        Assert.Equal(3, Posix.SeekHole(handle, 0));
        Assert.Equal(-1, Posix.SeekData(handle, 3));
    }

    [Fact]
    public void SeekHole_past_the_end_throws_ENXIO_naming_the_file()
    {
        string path = _dir.WriteFile("file", "abc");
        using var handle = File.OpenHandle(path);

        var e = Assert.Throws<PosixException>(() => Posix.SeekHole(handle, 10));

        Assert.Equal(Errno.ENXIO, e.Errno);
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void Fsync_and_FsyncDirectory_succeed_on_a_new_file()
    {
        string path = _dir.WriteFile("file", "durable");
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
            Posix.Fsync(handle);

        Posix.FsyncDirectory(_dir.Path);
    }

    [Fact]
    public void FsyncDirectory_on_a_file_throws_ENOTDIR()
    {
        string path = _dir.WriteFile("file");

        var e = Assert.Throws<PosixException>(() => Posix.FsyncDirectory(path));

        Assert.Equal(Errno.ENOTDIR, e.Errno);
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void EffectiveUid_and_EffectiveGid_own_the_files_this_process_creates()
    {
        FileStatus st = Posix.LStat(_dir.WriteFile("file"));

        Assert.Equal(st.Uid, Posix.EffectiveUid);
        // In a setgid directory new files take the directory's group instead.
        if ((Posix.LStat(_dir.Path).Permissions & Octal.Of("2000")) == 0)
            Assert.Equal(st.Gid, Posix.EffectiveGid);
    }

    [Fact]
    public void UserName_and_GroupName_resolve_root_and_return_null_for_unknown_ids()
    {
        Assert.Equal("root", Posix.UserName(0));
        Assert.Equal("root", Posix.GroupName(0));
        Assert.Null(Posix.UserName(3_999_999_999));
        Assert.Null(Posix.GroupName(3_999_999_999));
    }
}
