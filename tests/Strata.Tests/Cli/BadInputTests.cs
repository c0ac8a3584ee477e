using System.Text.Json.Nodes;
using Strata.Platform;
using Strata.Tests.TestSupport;
using Xunit.Abstractions;

namespace Strata.Tests.Cli;

/// <summary>A user's mistakes and unreadable sources: a clear line naming the thing at fault, the documented exit code, no stack trace.</summary>
public sealed class BadInputTests(ITestOutputHelper output) : IDisposable
{
    private readonly CliWorkspace _ws = new("bad-input");

    public void Dispose() => _ws.Dispose();

    [Theory]
    [InlineData("snapshots")]
    [InlineData("backup", "/etc/hostname")]
    [InlineData("restore", "latest", "--target", "/tmp/strata-never-created")]
    [InlineData("check")]
    public void Missing_repository_exits_10_and_says_where_it_looked(params string[] args)
    {
        var missing = _ws.PathOf("no-repo-here");

        var result = _ws.Cli.WithRepository(missing).Run(args).ShouldExitWith(10).ShouldNotShowStackTrace();

        var line = Assert.Single(result.StdErrLines);
        Assert.Contains(missing, line);
        Assert.Contains("no repository", line);
        Assert.False(Directory.Exists(missing), "a command other than init created the repository folder");
    }

    [Fact]
    public void No_repository_given_at_all_is_a_clear_error()
    {
        var result = _ws.Cli.WithRepository("").Run("snapshots");

        Assert.NotEqual(0, result.ExitCode);
        result.ShouldNotShowStackTrace();
        Assert.Contains("STRATA_REPOSITORY", Assert.Single(result.StdErrLines));
    }

    [Fact]
    public void Wrong_password_exits_12_says_so_and_shows_no_stack_trace()
    {
        var tree = _ws.Tree("src").File("a", "a");
        _ws.Init();
        var wrong = _ws.Cli.WithPassword("not-the-password");

        foreach (var args in new[] { new[] { "snapshots" }, ["backup", tree.Root], ["restore", "latest", "--target", _ws.PathOf("out")], ["check", "--read-data"], ["key", "list"] })
        {
            var result = wrong.Run(args).ShouldExitWith(12).ShouldNotShowStackTrace();
            Assert.Contains("password", Assert.Single(result.StdErrLines), StringComparison.OrdinalIgnoreCase);
        }
        Assert.Empty(Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json));
    }

    [Fact]
    public void Backup_of_a_missing_path_exits_1_with_one_clear_line_and_makes_no_snapshot()
    {
        var tree = _ws.Tree("src").File("a", "a");
        _ws.Init();
        var missing = _ws.PathOf("does-not-exist");

        var result = _ws.Cli.Run("backup", tree.Root, missing).ShouldExitWith(1).ShouldNotShowStackTrace();

        var line = Assert.Single(result.StdErrLines);
        Assert.Contains(missing, line);
        Assert.Contains("does not exist", line);
        Assert.Empty(Assert.IsType<JsonArray>(_ws.Cli.Run("snapshots", "--json").ShouldSucceed().Json));
    }

    [Fact]
    public void Init_into_a_non_empty_directory_is_refused_and_touches_nothing()
    {
        var occupied = _ws.PathOf("occupied");
        Directory.CreateDirectory(occupied);
        File.WriteAllText(Path.Combine(occupied, "precious.txt"), "keep me");

        var result = _ws.Cli.WithRepository(occupied).Run("init").ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains("not empty", Assert.Single(result.StdErrLines));
        Assert.Equal(["precious.txt"], Directory.EnumerateFileSystemEntries(occupied).Select(Path.GetFileName));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(occupied, "precious.txt")));
    }

    [Fact]
    public void Init_over_an_existing_repository_is_refused_and_the_old_password_still_works()
    {
        _ws.Init();

        var again = _ws.Cli.WithPassword("another").Run("init").ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains("already exists", Assert.Single(again.StdErrLines));
        _ws.Cli.Run("snapshots").ShouldSucceed();
        _ws.Cli.WithPassword("another").Run("snapshots").ShouldExitWith(12);
    }

    [Fact]
    public void Unknown_command_or_option_is_a_usage_error_not_a_crash()
    {
        var unknownCommand = _ws.Cli.Run("frobnicate");
        Assert.NotEqual(0, unknownCommand.ExitCode);
        unknownCommand.ShouldNotShowStackTrace();

        var missingTarget = _ws.Cli.Run("restore", "latest");
        Assert.NotEqual(0, missingTarget.ExitCode);
        missingTarget.ShouldNotShowStackTrace();
        Assert.Contains("--target", missingTarget.StdErr);
    }

    [Fact]
    public void Backup_of_unreadable_file_finishes_and_exits_3()
    {
        if (Posix.EffectiveUid != 0 || !File.Exists("/usr/bin/setpriv"))
        {
            output.WriteLine("needs root and setpriv to run the backup as an unprivileged user; not run");
            return;
        }
        var tree = _ws.Tree("src");
        tree.File("docs/readable.txt", "fine").File("docs/unreadable.txt", "secret").File("locked/inside.txt", "x").File("top.txt", "top");
        _ws.Init();
        // Everything readable and the repository writable for user nobody, except one file and one folder.
        MakeAccessibleToEveryone(_ws.Root);
        tree.Mode("docs/unreadable.txt", "000").Mode("locked", "000");
        var nobody = _ws.Cli.WithPrefix("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
            .WithEnvironment("HOME", _ws.Root).WithEnvironment("DOTNET_CLI_HOME", _ws.Root);

        var result = nobody.Run("backup", "--json", tree.Root).ShouldExitWith(3).ShouldNotShowStackTrace();

        Assert.Contains(tree.PathOf("docs/unreadable.txt"), result.StdErr);
        Assert.Contains(tree.PathOf("locked"), result.StdErr);
        Assert.Contains("permission denied", result.StdErr, StringComparison.OrdinalIgnoreCase);
        var snapshotId = (string)result.Summary["snapshot_id"]!;
        var listed = _ws.Cli.Run("ls", snapshotId).ShouldSucceed().StdOutLines.ToHashSet();
        Assert.Contains(tree.PathOf("docs/readable.txt"), listed);
        Assert.Contains(tree.PathOf("top.txt"), listed);
        Assert.DoesNotContain(tree.PathOf("docs/unreadable.txt"), listed);
        _ws.Cli.Run("restore", snapshotId, "--target", _ws.PathOf("out")).ShouldSucceed();
        Assert.Equal("fine", File.ReadAllText(CliWorkspace.Restored(_ws.PathOf("out"), tree.PathOf("docs/readable.txt"))));
        _ws.Cli.Run("check", "--read-data").ShouldSucceed();
    }

    private static void MakeAccessibleToEveryone(string directory)
    {
        Posix.Chmod(directory, Convert.ToUInt32("777", 8));
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            var st = Posix.LStat(entry);
            if (st.Kind == FileKind.Directory) MakeAccessibleToEveryone(entry);
            else if (st.Kind == FileKind.Regular) Posix.Chmod(entry, Convert.ToUInt32("666", 8));
        }
    }
}
