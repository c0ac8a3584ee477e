using Strata.Errors;
using Strata.Repository;
using Strata.Tests.TestSupport;
using StrataRepository = Strata.Repository.Repository;

namespace Strata.Tests.Repository;

/// <summary>
/// Key slots. <see cref="StrataRepository.AddKeyAsync"/> uses the default (production) Argon2id cost,
/// so each test here that adds a key pays a few tenths of a second per derivation.
/// </summary>
public class RepositoryKeyTests
{
    [Fact]
    public async Task An_added_key_opens_the_same_repository_with_its_own_password()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path, "alice");

        var bobKey = await repo.AddKeyAsync("bob");

        using var asBob = await TestRepositories.OpenAsync(folder.Path, "bob");
        Assert.Equal(bobKey, asBob.KeyId);
        Assert.Equal(repo.Key.EncryptionKey, asBob.Key.EncryptionKey);
        Assert.Equal(repo.Key.IdKey, asBob.Key.IdKey);
        using var asAlice = await TestRepositories.OpenAsync(folder.Path, "alice");
        Assert.Equal(repo.KeyId, asAlice.KeyId);
    }

    [Fact]
    public async Task Key_slots_are_listed_by_their_content_hash()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);

        var slots = await StrataRepository.ListKeySlotsAsync(repo.Backend);

        var (id, slot) = Assert.Single(slots);
        Assert.Equal(repo.KeyId, id);
        Assert.Matches("^[0-9a-f]{64}$", id);
        Assert.Equal(1, slot.OpsLimit);
        Assert.Equal(8 << 20, slot.MemLimit);
        var bytes = await File.ReadAllBytesAsync(folder.Combine("keys", id));
        Assert.Equal(id, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
    }

    [Fact]
    public async Task The_key_in_use_cannot_be_removed()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);

        var e = await Assert.ThrowsAsync<UsageException>(() => repo.RemoveKeyAsync(repo.KeyId));

        Assert.Contains("in use", e.Message);
        using var stillOpens = await TestRepositories.OpenAsync(folder.Path);
    }

    [Fact]
    public async Task A_removed_keys_password_no_longer_opens_the_repository()
    {
        using var folder = new TempFolder("repo");
        string bobKey;
        using (var asAlice = await TestRepositories.InitAsync(folder.Path, "alice"))
            bobKey = await asAlice.AddKeyAsync("bob");

        using (var asAlice = await TestRepositories.OpenAsync(folder.Path, "alice"))
            await asAlice.RemoveKeyAsync(bobKey[..8]); // a unique prefix is enough

        await Assert.ThrowsAsync<WrongPasswordException>(() => TestRepositories.OpenAsync(folder.Path, "bob"));
        using var stillAlice = await TestRepositories.OpenAsync(folder.Path, "alice");
        Assert.Single(await StrataRepository.ListKeySlotsAsync(stillAlice.Backend));
    }

    [Fact]
    public async Task Removing_an_unknown_key_is_a_usage_error()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var unknown = repo.KeyId.StartsWith('0') ? "1111" : "0000";

        var e = await Assert.ThrowsAsync<UsageException>(() => repo.RemoveKeyAsync(unknown));

        Assert.Contains(unknown, e.Message);
    }
}
