using Strata.Errors;
using Strata.Repository;
using Strata.Retention;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Retention;

public class StoredRetentionPolicyTests
{
    [Fact]
    public async Task A_stored_policy_reads_back_after_reopening_and_clearing_removes_it()
    {
        using var folder = new TempFolder("repo");
        using (var repo = await TestRepositories.InitAsync(folder.Path))
        {
            Assert.Null(await StoredRetentionPolicy.LoadAsync(repo));
            await StoredRetentionPolicy.SaveAsync(repo, new RetentionPolicy
            {
                KeepDaily = 7,
                Tiers = [new(RetentionDuration.Parse("24h", "x"), null), new(RetentionDuration.Parse("1y", "x"), CalendarUnit.Month)],
                TimeZone = "America/New_York",
            });
        }

        using var reopened = await TestRepositories.OpenAsync(folder.Path);
        var loaded = await StoredRetentionPolicy.LoadAsync(reopened);
        Assert.NotNull(loaded);
        Assert.Equal(7, loaded.KeepDaily);
        Assert.Equal(["within 24h", "monthly within 1y"], loaded.Tiers.Select(t => t.Reason).ToArray());
        Assert.Equal("America/New_York", loaded.TimeZone);

        await StoredRetentionPolicy.ClearAsync(reopened);
        Assert.Null(await StoredRetentionPolicy.LoadAsync(reopened));
        await StoredRetentionPolicy.ClearAsync(reopened); // idempotent
    }

    [Fact]
    public async Task The_policy_is_sealed_so_the_storage_cannot_read_or_alter_it()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        await StoredRetentionPolicy.SaveAsync(repo, new RetentionPolicy { KeepLast = 3, TimeZone = "Europe/Berlin" });
        var path = folder.Combine(StoredRetentionPolicy.ObjectName);
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.DoesNotContain("Berlin", System.Text.Encoding.Latin1.GetString(bytes));

        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes);

        await Assert.ThrowsAsync<CorruptDataException>(() => StoredRetentionPolicy.LoadAsync(repo));
    }

    [Fact]
    public async Task A_policy_of_an_unknown_format_version_is_refused()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var future = Envelope.Seal(repo.Key.Cipher, """{"version": 2, "policy": {"keep_last": 1}}"""u8, 0);
        await repo.Backend.PutAsync(StoredRetentionPolicy.ObjectName, future);

        var e = await Assert.ThrowsAsync<StrataException>(() => StoredRetentionPolicy.LoadAsync(repo));
        Assert.Contains("version 2", e.Message);
    }
}
