using System.Security.Cryptography;
using System.Text.Json;
using Strata.Errors;
using Strata.Repository;
using Strata.Snapshots;
using Strata.Tests.TestSupport;
using StrataRepository = Strata.Repository.Repository;

namespace Strata.Tests.Repository;

public class RepositorySnapshotTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static Snapshot NewSnapshot(DateTimeOffset time, string host = "host-a", params string[] tags) => new()
    {
        Time = time,
        Tree = new BlobId(RandomNumberGenerator.GetBytes(32)),
        Paths = ["/home/alice", "/etc"],
        Hostname = host,
        Username = "alice",
        Uid = 1000,
        Gid = 1000,
        Tags = tags.Length == 0 ? null : [.. tags],
        ProgramVersion = "strata-test",
    };

    [Fact]
    public async Task A_saved_snapshot_loads_back_with_every_field()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var parent = new BlobId(RandomNumberGenerator.GetBytes(32));
        var snapshot = NewSnapshot(T0, tags: ["daily", "laptop"]);
        snapshot.Excludes = ["*.tmp"];
        snapshot.Parent = parent;
        snapshot.Summary = new SnapshotSummary
        {
            FilesNew = 1, FilesChanged = 2, FilesUnmodified = 3, Directories = 4, DataBlobs = 5, TreeBlobs = 6,
            DataAdded = 7, TotalFilesProcessed = 8, TotalBytesProcessed = 9, BackupStart = T0, BackupEnd = T0.AddMinutes(1),
        };

        var id = await repo.SaveSnapshotAsync(snapshot);
        using var reopened = await TestRepositories.OpenAsync(folder.Path);
        var loaded = await reopened.LoadSnapshotAsync(id);

        Assert.Equal(id, snapshot.Id);
        Assert.Equal(id, loaded.Id);
        Assert.Equal(JsonSerializer.Serialize(snapshot, StrataJson.Default.Snapshot), JsonSerializer.Serialize(loaded, StrataJson.Default.Snapshot));
        Assert.Equal(parent, loaded.Parent);
        Assert.Equal(T0.AddMinutes(1), loaded.Summary!.BackupEnd);
    }

    [Fact]
    public async Task A_snapshot_is_stored_under_the_sha256_of_its_stored_bytes()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);

        var id = await repo.SaveSnapshotAsync(NewSnapshot(T0));

        var stored = await File.ReadAllBytesAsync(folder.Combine("snapshots", id.ToString()));
        Assert.Equal(id, new BlobId(SHA256.HashData(stored)));
    }

    [Fact]
    public async Task A_damaged_snapshot_file_is_reported_as_corrupt_data()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var id = await repo.SaveSnapshotAsync(NewSnapshot(T0));
        var path = folder.Combine("snapshots", id.ToString());
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);

        await Assert.ThrowsAsync<CorruptDataException>(() => repo.LoadSnapshotAsync(id));
    }

    [Fact]
    public async Task Loading_a_snapshot_that_does_not_exist_is_a_storage_error()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);

        await Assert.ThrowsAsync<Strata.Storage.ObjectNotFoundException>(() => repo.LoadSnapshotAsync(new BlobId(new byte[32])));
    }

    [Fact]
    public async Task Snapshots_are_listed_oldest_first()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        foreach (var hours in new[] { 5, 1, 3, 2, 4 }) await repo.SaveSnapshotAsync(NewSnapshot(T0.AddHours(hours)));

        var list = await repo.ListSnapshotsAsync();

        Assert.Equal([1, 2, 3, 4, 5], list.Select(s => (int)(s.Time - T0).TotalHours).ToArray());
        Assert.All(list, s => Assert.False(s.Id.IsZero));
    }

    [Fact]
    public async Task An_empty_repository_lists_no_snapshots()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);

        Assert.Empty(await repo.ListSnapshotsAsync());
    }

    [Fact]
    public async Task Latest_finds_the_newest_snapshot_by_time_not_by_save_order()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var newest = await repo.SaveSnapshotAsync(NewSnapshot(T0.AddDays(1)));
        await repo.SaveSnapshotAsync(NewSnapshot(T0));

        Assert.Equal(newest, (await repo.FindSnapshotAsync("latest")).Id);
    }

    [Fact]
    public async Task Latest_with_a_filter_finds_the_newest_matching_snapshot()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var newestOfB = await repo.SaveSnapshotAsync(NewSnapshot(T0.AddHours(1), host: "host-b", "weekly"));
        await repo.SaveSnapshotAsync(NewSnapshot(T0.AddHours(2), host: "host-a", "weekly"));
        await repo.SaveSnapshotAsync(NewSnapshot(T0, host: "host-b"));

        Assert.Equal(newestOfB, (await repo.FindSnapshotAsync("latest", new SnapshotFilter(Host: "host-b"))).Id);
        Assert.Equal(newestOfB, (await repo.FindSnapshotAsync("latest", new SnapshotFilter(Host: "host-b", Tags: ["weekly"]))).Id);
        await Assert.ThrowsAsync<UsageException>(() => repo.FindSnapshotAsync("latest", new SnapshotFilter(Host: "host-c")));
    }

    [Fact]
    public async Task Latest_in_an_empty_repository_is_a_usage_error()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);

        var e = await Assert.ThrowsAsync<UsageException>(() => repo.FindSnapshotAsync("latest"));
        Assert.Contains("no snapshots", e.Message);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(8)]
    [InlineData(4)]
    public async Task A_snapshot_is_found_by_a_unique_prefix_of_its_id(int digits)
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var id = await repo.SaveSnapshotAsync(NewSnapshot(T0));

        Assert.Equal(id, (await repo.FindSnapshotAsync(id.ToString()[..digits])).Id);
    }

    [Fact]
    public async Task Id_prefixes_are_matched_regardless_of_case()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var id = await repo.SaveSnapshotAsync(NewSnapshot(T0));

        Assert.Equal(id, (await repo.FindSnapshotAsync(id.ToString()[..10].ToUpperInvariant())).Id);
    }

    [Fact]
    public async Task An_unknown_prefix_is_a_usage_error()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var id = await repo.SaveSnapshotAsync(NewSnapshot(T0));
        var unknown = (id.ToString()[0] == 'f' ? "0" : "f") + id.ToString()[1..8];

        var e = await Assert.ThrowsAsync<UsageException>(() => repo.FindSnapshotAsync(unknown));
        Assert.Contains(unknown, e.Message);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData("xyz12345")]
    [InlineData("newest")]
    public async Task A_reference_that_is_neither_latest_nor_four_hex_digits_is_a_usage_error(string reference)
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        await repo.SaveSnapshotAsync(NewSnapshot(T0));

        await Assert.ThrowsAsync<UsageException>(() => repo.FindSnapshotAsync(reference));
    }

    [Fact]
    public async Task An_ambiguous_prefix_is_a_usage_error()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var (a, b) = await SaveTwoSnapshotsSharingFourDigitsAsync(repo);
        var prefix = a.ToString()[..4];

        var e = await Assert.ThrowsAsync<UsageException>(() => repo.FindSnapshotAsync(prefix));

        Assert.Contains("ambiguous", e.Message);
        Assert.Equal(a, (await repo.FindSnapshotAsync(a.ToString())).Id);
        Assert.Equal(b, (await repo.FindSnapshotAsync(b.ToString())).Id);
    }

    /// <summary>
    /// Snapshot ids are hashes of randomly-nonced ciphertext, so two ids sharing a 4-digit prefix need
    /// a birthday search (a few hundred tries). The candidates are sealed in memory exactly as
    /// <see cref="StrataRepository.SaveSnapshotAsync"/> seals them, and only the colliding pair is stored.
    /// </summary>
    private static async Task<(BlobId, BlobId)> SaveTwoSnapshotsSharingFourDigitsAsync(StrataRepository repo)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(NewSnapshot(T0), StrataJson.Default.Snapshot);
        var seen = new Dictionary<string, (BlobId Id, byte[] Stored)>();
        for (int attempt = 0; attempt < 100_000; attempt++)
        {
            var stored = Envelope.Seal(repo.Key.Cipher, json, repo.Config.CompressionLevel);
            var id = new BlobId(SHA256.HashData(stored));
            var prefix = id.ToString()[..4];
            if (seen.TryGetValue(prefix, out var other))
            {
                await repo.Backend.PutAsync(Layout.Snapshot(other.Id), other.Stored);
                await repo.Backend.PutAsync(Layout.Snapshot(id), stored);
                return (other.Id, id);
            }
            seen[prefix] = (id, stored);
        }
        throw new InvalidOperationException("no 4-digit collision found");
    }
}
