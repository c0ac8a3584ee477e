using Strata.Platform;

namespace Strata.Tests.Platform;

public sealed class PosixStatTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Native_stat_struct_matches_glibc_x86_64_layout()
    {
        Assert.Equal(144, System.Runtime.CompilerServices.Unsafe.SizeOf<NativeStat>());
        Assert.Equal(24, (int)System.Runtime.InteropServices.Marshal.OffsetOf<NativeStat>(nameof(NativeStat.Mode)));
        Assert.Equal(40, (int)System.Runtime.InteropServices.Marshal.OffsetOf<NativeStat>(nameof(NativeStat.RDev)));
        Assert.Equal(64, (int)System.Runtime.InteropServices.Marshal.OffsetOf<NativeStat>(nameof(NativeStat.Blocks)));
        Assert.Equal(104, (int)System.Runtime.InteropServices.Marshal.OffsetOf<NativeStat>(nameof(NativeStat.CtimeSec)));
    }

    [Fact]
    public void LStat_reports_regular_file_size_kind_permissions_and_owner()
    {
        string path = _dir.WriteFile("file", "hello world");
        Posix.Chmod(path, Octal.Of("640"));

        FileStatus st = Posix.LStat(path);

        Assert.Equal(FileKind.Regular, st.Kind);
        Assert.Equal(11, st.Size);
        Assert.Equal(Octal.Of("640"), st.Permissions);
        Assert.Equal(Octal.Of("100640"), st.Mode);
        Assert.Equal(1ul, st.LinkCount);
        Assert.Equal(Posix.EffectiveUid, st.Uid);
        Assert.NotEqual(0ul, st.Inode);
    }

    [Fact]
    public void LStat_reports_times_that_agree_with_dotnet()
    {
        string path = _dir.WriteFile("file", "x");
        var mtime = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, mtime);

        FileStatus st = Posix.LStat(path);

        Assert.Equal(mtime, DateTime.UnixEpoch.AddTicks(st.MtimeNs / 100));
        Assert.True(st.CtimeNs > 0 && st.AtimeNs > 0);
    }

    [Fact]
    public void LStat_reports_Blocks_in_512_byte_units()
    {
        string path = _dir.Combine("file");
        File.WriteAllBytes(path, new byte[64 * 1024]);
        using (var handle = File.OpenHandle(path))
            Posix.Fsync(handle);

        Assert.True(Posix.LStat(path).Blocks >= 64 * 1024 / 512);
    }

    [Fact]
    public void LStat_reports_symlink_without_following_it()
    {
        string target = _dir.WriteFile("target", "a much longer content than the link");
        string link = _dir.Combine("link");
        Posix.Symlink("target", link);

        FileStatus st = Posix.LStat(link);

        Assert.Equal(FileKind.Symlink, st.Kind);
        Assert.Equal("target".Length, st.Size);
        Assert.NotEqual(Posix.LStat(target).Inode, st.Inode);
    }

    [Fact]
    public void LStat_reports_directory_and_fifo_kinds()
    {
        string fifo = _dir.Combine("fifo");
        Posix.MkFifo(fifo, Octal.Of("600"));

        Assert.Equal(FileKind.Directory, Posix.LStat(_dir.Path).Kind);
        Assert.Equal(FileKind.Fifo, Posix.LStat(fifo).Kind);
        Assert.Equal(Octal.Of("600"), Posix.LStat(fifo).Permissions);
    }

    [Fact]
    public void LStat_handles_paths_longer_than_the_stack_buffer()
    {
        string dir = _dir.Path;
        for (int i = 0; i < 6; i++)
            dir = Directory.CreateDirectory(Path.Combine(dir, new string((char)('a' + i), 200))).FullName;
        string path = Path.Combine(dir, "f\u00e9\u20ac\U0001F600");
        File.WriteAllText(path, "123");

        Assert.True(System.Text.Encoding.UTF8.GetByteCount(path) > 1024);
        Assert.Equal(3, Posix.LStat(path).Size);
    }

    [Fact]
    public void LStat_and_TryLStat_do_not_allocate()
    {
        string path = _dir.WriteFile("file", "x");
        string missing = _dir.Combine("missing");
        Posix.LStat(path);
        Posix.TryLStat(missing, out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Posix.LStat(path);
            Posix.TryLStat(missing, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void LStat_throws_ENOENT_naming_the_path()
    {
        string missing = _dir.Combine("missing");

        var e = Assert.Throws<PosixException>(() => Posix.LStat(missing));

        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Equal(missing, e.Path);
        Assert.Equal($"no such file or directory: {missing}", e.Message);
    }

    [Fact]
    public void Paths_containing_NUL_are_rejected_instead_of_truncated()
    {
        string path = _dir.WriteFile("file");

        Assert.Throws<ArgumentException>(() => Posix.LStat(path + "\0/ignored"));
    }

    [Fact]
    public void TryLStat_returns_false_for_missing_path_and_for_path_below_a_file()
    {
        string file = _dir.WriteFile("file");

        Assert.False(Posix.TryLStat(_dir.Combine("missing"), out _));
        Assert.False(Posix.TryLStat(Path.Combine(file, "child"), out _));
        Assert.True(Posix.TryLStat(file, out FileStatus st));
        Assert.Equal(FileKind.Regular, st.Kind);
    }

    [Fact]
    public void TryLStat_throws_on_errors_other_than_missing()
    {
        string loop = _dir.Combine("loop");
        Posix.Symlink("loop", loop);

        var e = Assert.Throws<PosixException>(() => Posix.TryLStat(Path.Combine(loop, "x"), out _));

        Assert.Equal(Errno.ELOOP, e.Errno);
    }

    [Fact]
    public void FStat_matches_LStat_of_the_same_file()
    {
        string path = _dir.WriteFile("file", "content");
        using var handle = File.OpenHandle(path);

        Assert.Equal(Posix.LStat(path), Posix.FStat(handle));
    }

    [Fact]
    public void Link_creates_hard_link_with_same_inode_and_LinkCount_2()
    {
        string original = _dir.WriteFile("original", "data");
        string link = _dir.Combine("link");

        Posix.Link(original, link);

        FileStatus a = Posix.LStat(original), b = Posix.LStat(link);
        Assert.Equal(a.Inode, b.Inode);
        Assert.Equal(a.Device, b.Device);
        Assert.Equal(2ul, a.LinkCount);
        Assert.Equal(2ul, b.LinkCount);
    }

    [Fact]
    public void Link_onto_an_existing_name_throws_EEXIST_naming_the_new_path()
    {
        string original = _dir.WriteFile("original");
        string existing = _dir.WriteFile("existing");

        var e = Assert.Throws<PosixException>(() => Posix.Link(original, existing));

        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.Equal(existing, e.Path);
        Assert.Contains(original, e.Message);
    }

    [Fact]
    public void Kind_and_Permissions_come_from_Mode()
    {
        var st = new FileStatus(0, 0, Octal.Of("0127777"), 1, 0, 0, 0, 0, 0, 0, 0, 0);

        Assert.Equal(FileKind.Symlink, st.Kind);
        Assert.Equal(Octal.Of("7777"), st.Permissions);
        Assert.Equal(FileKind.Socket, (st with { Mode = Octal.Of("140755") }).Kind);
        Assert.Equal(FileKind.BlockDevice, (st with { Mode = Octal.Of("060660") }).Kind);
        Assert.Equal(FileKind.CharDevice, (st with { Mode = Octal.Of("020666") }).Kind);
    }
}
