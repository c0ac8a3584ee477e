using System.Text.Json.Nodes;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary><c>strata key add|list|remove|passwd</c>: several passwords open one repository; a removed or replaced one no longer does.</summary>
public sealed class KeyCommandTests : IDisposable
{
    private readonly CliWorkspace _ws = new("keys");

    public void Dispose() => _ws.Dispose();

    private JsonArray KeyList(CliRunner cli) => Assert.IsType<JsonArray>(cli.Run("key", "list", "--json").ShouldSucceed().Json);

    [Fact]
    public void Added_password_opens_the_repository_and_removing_the_old_one_locks_it_out()
    {
        _ws.Init();
        var original = _ws.Cli;
        var second = _ws.Cli.WithPassword("second-password");
        var firstKeyId = (string)KeyList(original).Single()!["id"]!;

        original.WithEnvironment("STRATA_NEW_PASSWORD", "second-password").Run("key", "add").ShouldSucceed();

        var keys = KeyList(second);
        Assert.Equal(2, keys.Count);
        Assert.Equal(firstKeyId, (string)keys.Single(k => !(bool)k!["current"]!)!["id"]!);
        original.Run("snapshots").ShouldSucceed();

        second.Run("key", "remove", firstKeyId[..8]).ShouldSucceed();

        original.Run("snapshots").ShouldExitWith(12).ShouldNotShowStackTrace();
        Assert.Single(KeyList(second));
    }

    [Fact]
    public void Removing_the_key_in_use_is_refused()
    {
        _ws.Init();
        var id = (string)KeyList(_ws.Cli).Single()!["id"]!;

        var result = _ws.Cli.Run("key", "remove", id).ShouldExitWith(1).ShouldNotShowStackTrace();

        Assert.Contains("in use", result.StdErr);
        _ws.Cli.Run("snapshots").ShouldSucceed();
    }

    [Fact]
    public void Passwd_replaces_the_password_old_fails_with_12_new_works()
    {
        var tree = _ws.Tree("src").File("a.txt", "data");
        _ws.Init();
        _ws.Backup(tree.Root);

        _ws.Cli.WithEnvironment("STRATA_NEW_PASSWORD", "changed-password").Run("key", "passwd").ShouldSucceed();

        var old = _ws.Cli.Run("snapshots").ShouldExitWith(12).ShouldNotShowStackTrace();
        Assert.Contains("password", old.StdErr, StringComparison.OrdinalIgnoreCase);
        var changed = _ws.Cli.WithPassword("changed-password");
        Assert.Single(Assert.IsType<JsonArray>(changed.Run("snapshots", "--json").ShouldSucceed().Json));
        changed.Run("restore", "latest", "--target", _ws.PathOf("out")).ShouldSucceed();
        Assert.Equal("data", File.ReadAllText(CliWorkspace.Restored(_ws.PathOf("out"), tree.PathOf("a.txt"))));
        Assert.Single(KeyList(changed));
    }

    [Fact]
    public void Password_file_is_an_alternative_to_the_environment()
    {
        _ws.Init();
        var file = _ws.PathOf("password.txt");
        File.WriteAllText(file, CliRunner.DefaultPassword + "\n");

        _ws.Cli.WithPassword(null).Run("snapshots", "--password-file", file).ShouldSucceed();
        _ws.Cli.WithPassword(null).WithEnvironment("STRATA_PASSWORD_FILE", file).Run("snapshots").ShouldSucceed();
        var none = _ws.Cli.WithPassword(null).Run("snapshots").ShouldExitWith(1).ShouldNotShowStackTrace();
        Assert.Contains("password", Assert.Single(none.StdErrLines), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_password_file_on_the_command_line_wins_over_the_environment()
    {
        _ws.Init();
        var file = _ws.PathOf("password.txt");
        File.WriteAllText(file, CliRunner.DefaultPassword + "\n");
        var wrongFile = _ws.PathOf("wrong.txt");
        File.WriteAllText(wrongFile, "not it\n");

        // As in a shell that exports the password of another repository.
        _ws.Cli.WithPassword("another repository's").Run("snapshots", "--password-file", file).ShouldSucceed();
        _ws.Cli.WithPassword("another repository's").WithEnvironment("STRATA_PASSWORD_FILE", file).Run("snapshots").ShouldExitWith(12);
        _ws.Cli.WithPassword(null).WithEnvironment("STRATA_PASSWORD_FILE", wrongFile).Run("snapshots", "--password-file", file).ShouldSucceed();
        // A new repository gets the file's password, not the environment's.
        var other = _ws.Cli.WithRepository(_ws.PathOf("other")).WithPassword("from the environment");
        other.Run("init", "--password-file", file).ShouldSucceed();
        other.WithPassword(CliRunner.DefaultPassword).Run("snapshots").ShouldSucceed();
    }
}
