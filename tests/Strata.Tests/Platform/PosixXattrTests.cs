using Strata.Platform;

namespace Strata.Tests.Platform;

public sealed class PosixXattrTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Xattrs_roundtrip_sorted_by_name_with_binary_values()
    {
        string path = _dir.WriteFile("file");
        if (!UserXattrsSupported(path))
            return;
        byte[] large = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();

        Posix.SetXattr(path, "user.zeta", [1, 0, 2]);
        Posix.SetXattr(path, "user.alpha", "hello"u8);
        Posix.SetXattr(path, "user.empty", []);
        Posix.SetXattr(path, "user.large", large);

        var xattrs = UserOnly(Posix.ListXattrs(path));
        Assert.Equal(["user.alpha", "user.empty", "user.large", "user.zeta"], xattrs.Select(x => x.Key));
        Assert.Equal("hello"u8.ToArray(), xattrs[0].Value);
        Assert.Empty(xattrs[1].Value);
        Assert.Equal(large, xattrs[2].Value);
        Assert.Equal([1, 0, 2], xattrs[3].Value);
    }

    [Fact]
    public void SetXattr_replaces_an_existing_value()
    {
        string path = _dir.WriteFile("file");
        if (!UserXattrsSupported(path))
            return;

        Posix.SetXattr(path, "user.k", "first"u8);
        Posix.SetXattr(path, "user.k", "second"u8);

        Assert.Equal("second"u8.ToArray(), Assert.Single(UserOnly(Posix.ListXattrs(path))).Value);
    }

    [Fact]
    public void ListXattrs_returns_more_names_than_fit_its_first_buffer()
    {
        string path = _dir.WriteFile("file");
        if (!UserXattrsSupported(path))
            return;
        // 40 names of 36 bytes pass the 1 KiB first buffer yet stay within ext4's one block for xattrs.
        string[] names = Enumerable.Range(0, 40).Select(i => $"user.attribute-with-a-long-name-{i:D3}").ToArray();

        foreach (string name in names)
            Posix.SetXattr(path, name, System.Text.Encoding.UTF8.GetBytes(name[^3..]));

        var xattrs = UserOnly(Posix.ListXattrs(path));
        Assert.Equal(names, xattrs.Select(x => x.Key));
        Assert.All(xattrs, x => Assert.Equal(x.Key[^3..], System.Text.Encoding.UTF8.GetString(x.Value)));
    }

    [Fact]
    public void ListXattrs_is_empty_for_a_file_without_user_xattrs()
    {
        string path = _dir.WriteFile("file");

        Assert.Empty(UserOnly(Posix.ListXattrs(path)));
    }

    [Fact]
    public void ListXattrs_does_not_follow_symlinks()
    {
        string target = _dir.WriteFile("target");
        if (!UserXattrsSupported(target))
            return;
        string link = _dir.Combine("link");
        Posix.Symlink("target", link);

        Posix.SetXattr(target, "user.k", "v"u8);

        Assert.Empty(UserOnly(Posix.ListXattrs(link)));
    }

    [Fact]
    public void SetXattr_on_a_missing_file_throws_ENOENT()
    {
        string missing = _dir.Combine("missing");

        var e = Assert.Throws<PosixException>(() => Posix.SetXattr(missing, "user.k", "v"u8));

        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Equal(missing, e.Path);
    }

    [Fact]
    public void ListXattrs_on_a_missing_file_throws_ENOENT()
    {
        Assert.Equal(Errno.ENOENT, Assert.Throws<PosixException>(() => Posix.ListXattrs(_dir.Combine("missing"))).Errno);
    }

    /// <summary>
    /// Some file systems (tmpfs before Linux 6.6, some network file systems) reject user.* attributes;
    /// xunit 2 cannot mark a test skipped, so the xattr tests pass vacuously there.
    /// </summary>
    private static bool UserXattrsSupported(string path)
    {
        try
        {
            Posix.SetXattr(path, "user.strata-probe", "1"u8);
            return true;
        }
        catch (PosixException e) when (e.Errno == Errno.ENOTSUP)
        {
            return false;
        }
    }

    /// <summary>Other namespaces (security.selinux and the like) depend on the machine, not on the test.</summary>
    private static List<KeyValuePair<string, byte[]>> UserOnly(IReadOnlyList<KeyValuePair<string, byte[]>> xattrs) =>
        xattrs.Where(x => x.Key.StartsWith("user.", StringComparison.Ordinal) && x.Key != "user.strata-probe").ToList();
}
