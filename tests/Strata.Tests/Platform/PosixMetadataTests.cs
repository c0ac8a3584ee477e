using Strata.Platform;

namespace Strata.Tests.Platform;

public sealed class PosixMetadataTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Chmod_sets_permission_bits_including_setuid_setgid_and_sticky()
    {
        string path = _dir.WriteFile("file");

        Posix.Chmod(path, Octal.Of("6755"));
        Assert.Equal(Octal.Of("6755"), Posix.LStat(path).Permissions);

        Posix.Chmod(path, Octal.Of("1600"));
        Assert.Equal(Octal.Of("1600"), Posix.LStat(path).Permissions);
    }

    [Fact]
    public void SetTimes_keeps_nanoseconds()
    {
        string path = _dir.WriteFile("file");
        const long atime = 1_600_000_000_123_456_789;
        const long mtime = 1_500_000_000_987_654_321;

        Posix.SetTimes(path, atime, mtime);

        FileStatus st = Posix.LStat(path);
        Assert.Equal(atime, st.AtimeNs);
        Assert.Equal(mtime, st.MtimeNs);
    }

    [Fact]
    public void SetTimes_handles_times_before_1970()
    {
        string path = _dir.WriteFile("file");
        const long mtime = -1_234_567_890_123_456_789; // 1930, with a fraction of a second

        Posix.SetTimes(path, mtime, mtime);

        Assert.Equal(mtime, Posix.LStat(path).MtimeNs);
    }

    [Fact]
    public void SetTimes_on_symlink_changes_the_link_not_its_target()
    {
        string target = _dir.WriteFile("target");
        string link = _dir.Combine("link");
        Posix.Symlink("target", link);
        long targetMtime = Posix.LStat(target).MtimeNs;

        Posix.SetTimes(link, 1_000_000_000_000_000_001, 1_000_000_000_000_000_002);

        Assert.Equal(1_000_000_000_000_000_002, Posix.LStat(link).MtimeNs);
        Assert.Equal(targetMtime, Posix.LStat(target).MtimeNs);
    }

    [Fact]
    public void LChown_changes_the_symlink_not_its_target()
    {
        string target = _dir.WriteFile("target");
        string link = _dir.Combine("link");
        Posix.Symlink("target", link);
        FileStatus before = Posix.LStat(target);
        // Only root may give files away; anyone may "change" to their own ids.
        (uint uid, uint gid) = Posix.EffectiveUid == 0 ? (1234u, 5678u) : (before.Uid, before.Gid);

        Posix.LChown(link, uid, gid);

        FileStatus st = Posix.LStat(link);
        Assert.Equal((uid, gid), (st.Uid, st.Gid));
        Assert.Equal((before.Uid, before.Gid), (Posix.LStat(target).Uid, Posix.LStat(target).Gid));
    }

    [Fact]
    public void MkFifo_creates_a_fifo_with_the_given_permissions()
    {
        string path = _dir.Combine("fifo");

        Posix.MkFifo(path, Octal.Of("600"));

        FileStatus st = Posix.LStat(path);
        Assert.Equal(FileKind.Fifo, st.Kind);
        Assert.Equal(Octal.Of("600"), st.Permissions);
    }

    [Fact]
    public void MkNod_creates_a_fifo_node_without_privileges()
    {
        string path = _dir.Combine("fifo");

        Posix.MkNod(path, Octal.Of("010600"), 0);

        Assert.Equal(FileKind.Fifo, Posix.LStat(path).Kind);
    }

    [Fact]
    public void MkNod_creates_a_character_device_with_its_device_number_when_root()
    {
        if (Posix.EffectiveUid != 0)
            return; // Creating device nodes needs CAP_MKNOD; nothing to check as an ordinary user.
        string path = _dir.Combine("null");
        ulong rdev = Posix.MakeDev(1, 3);

        Posix.MkNod(path, Octal.Of("020644"), rdev);

        FileStatus st = Posix.LStat(path);
        Assert.Equal(FileKind.CharDevice, st.Kind);
        Assert.Equal(rdev, st.RDev);
        Assert.Equal((1u, 3u), (Posix.Major(st.RDev), Posix.Minor(st.RDev)));
    }

    [Fact]
    public void MakeDev_splits_back_into_major_and_minor_like_glibc()
    {
        Assert.Equal(0x103ul, Posix.MakeDev(1, 3));
        ulong dev = Posix.MakeDev(0x12345, 0x678901);
        Assert.Equal((0x12345u, 0x678901u), (Posix.Major(dev), Posix.Minor(dev)));
    }

    [Fact]
    public void Symlink_and_ReadLink_roundtrip_a_dangling_utf8_target()
    {
        string link = _dir.Combine("link");
        const string target = "../nowhere/\u00e4 \u20ac/\U0001F600";

        Posix.Symlink(target, link);

        Assert.Equal(target, Posix.ReadLink(link));
    }

    [Fact]
    public void ReadLink_returns_targets_longer_than_its_first_buffer()
    {
        string link = _dir.Combine("link");
        string target = string.Join('/', Enumerable.Repeat(new string('x', 250), 14));

        Posix.Symlink(target, link);

        Assert.Equal(target, Posix.ReadLink(link));
    }

    [Fact]
    public void ReadLink_of_a_regular_file_throws_EINVAL()
    {
        string path = _dir.WriteFile("file");

        Assert.Equal(Errno.EINVAL, Assert.Throws<PosixException>(() => Posix.ReadLink(path)).Errno);
    }

    [Fact]
    public void Symlink_onto_an_existing_name_throws_EEXIST()
    {
        string path = _dir.WriteFile("file");

        var e = Assert.Throws<PosixException>(() => Posix.Symlink("x", path));

        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.Equal(path, e.Path);
    }
}
