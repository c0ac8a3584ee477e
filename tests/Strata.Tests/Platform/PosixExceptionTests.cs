using Strata.Platform;

namespace Strata.Tests.Platform;

public sealed class PosixExceptionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void PosixException_message_is_the_error_text_then_the_path()
    {
        var e = new PosixException(Errno.EACCES, "/x/y");

        Assert.Equal("permission denied: /x/y", e.Message);
        Assert.Equal(Errno.EACCES, e.Errno);
        Assert.Equal("/x/y", e.Path);
        Assert.IsAssignableFrom<IOException>(e);
    }

    [Fact]
    public void PosixException_message_adds_the_detail_in_parentheses()
    {
        var e = new PosixException(Errno.EEXIST, "/b", "hard link to /a");

        Assert.Equal("file exists: /b (hard link to /a)", e.Message);
    }

    [Fact]
    public void LStat_below_an_unsearchable_directory_throws_EACCES_naming_the_path()
    {
        string locked = Directory.CreateDirectory(_dir.Combine("locked")).FullName;
        string inside = Path.Combine(locked, "file");
        File.WriteAllText(inside, "secret");
        Posix.Chmod(locked, 0);
        PosixException? thrown = null;

        bool ran = Unprivileged.TryRun(() => thrown = Assert.Throws<PosixException>(() => Posix.LStat(inside)));
        if (!ran)
            return; // Root that cannot drop its file-system identity bypasses permissions: nothing to observe.

        Assert.Equal(Errno.EACCES, thrown!.Errno);
        Assert.Equal(inside, thrown.Path);
        Assert.Equal($"permission denied: {inside}", thrown.Message);
    }

    [Fact]
    public void TryLStat_throws_EACCES_rather_than_reporting_the_file_missing()
    {
        string locked = Directory.CreateDirectory(_dir.Combine("locked")).FullName;
        Posix.Chmod(locked, 0);
        PosixException? thrown = null;

        bool ran = Unprivileged.TryRun(() => thrown = Assert.Throws<PosixException>(() => Posix.TryLStat(Path.Combine(locked, "x"), out _)));
        if (!ran)
            return; // As above: permissions cannot be tested here.

        Assert.Equal(Errno.EACCES, thrown!.Errno);
    }
}
