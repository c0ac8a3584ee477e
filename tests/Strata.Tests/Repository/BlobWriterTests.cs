using Strata.Errors;
using Strata.Repository;
using Strata.Tests.TestSupport;
using StrataRepository = Strata.Repository.Repository;

namespace Strata.Tests.Repository;

/// <summary>Blobs written through <see cref="BlobWriter"/> into a repository on a local directory, read back by a fresh open.</summary>
public class BlobWriterTests
{
    private static async Task<List<string>> NamesUnder(StrataRepository repo, string prefix)
    {
        var names = new List<string>();
        await foreach (var o in repo.Backend.ListAsync(prefix)) names.Add(o.Name);
        return names;
    }

    [Fact]
    public async Task Saving_the_same_blob_twice_stores_it_once()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        var data = TestData.RandomBytes(10_000);

        await using (var writer = new BlobWriter(repo))
        {
            var first = writer.Save(BlobType.Data, data, out bool firstAdded);
            var second = writer.Save(BlobType.Data, (byte[])data.Clone(), out bool secondAdded);
            await writer.FlushAsync();

            Assert.Equal(first, second);
            Assert.True(firstAdded);
            Assert.False(secondAdded);
            Assert.Equal(1, writer.BlobsAdded);
            Assert.Equal(1, writer.DataBlobsAdded);
        }

        var pack = Assert.Single(await NamesUnder(repo, Layout.DataFolder));
        var header = PackFormat.ReadHeader(repo.Key.Cipher, await repo.Backend.GetAsync(pack), pack);
        Assert.Single(header);
    }

    [Fact]
    public async Task A_blob_already_in_the_repository_is_not_stored_again_by_a_later_session()
    {
        using var folder = new TempFolder("repo");
        var data = TestData.Text(50_000);
        using (var repo = await TestRepositories.InitAsync(folder.Path))
        await using (var writer = new BlobWriter(repo))
        {
            writer.Save(BlobType.Data, data, out _);
            await writer.FlushAsync();
        }

        using var later = await TestRepositories.ReopenWithIndexAsync(folder.Path);
        await using (var writer = new BlobWriter(later))
        {
            writer.Save(BlobType.Data, data, out bool added);
            await writer.FlushAsync();

            Assert.False(added);
            Assert.Equal(0, writer.BytesAdded);
        }

        Assert.Single(await NamesUnder(later, Layout.DataFolder));
        Assert.Single(await NamesUnder(later, Layout.IndexFolder));
    }

    [Fact]
    public async Task After_flush_a_fresh_open_finds_every_blob_and_reads_back_its_bytes()
    {
        using var folder = new TempFolder("repo");
        var blobs = new Dictionary<BlobId, (BlobType Type, byte[] Data)>();
        using (var repo = await TestRepositories.InitAsync(folder.Path))
        await using (var writer = new BlobWriter(repo))
        {
            for (int i = 0; i < 30; i++)
            {
                var type = i % 5 == 0 ? BlobType.Tree : BlobType.Data;
                var data = i % 2 == 0 ? TestData.RandomBytes(1000 + 97 * i, seed: i) : TestData.Text(5000 + i, seed: i);
                blobs[writer.Save(type, data, out _)] = (type, data);
            }
            writer.Save(BlobType.Data, [], out _); // the empty blob is a blob too
            await writer.FlushAsync();
            Assert.Equal(6, writer.TreeBlobsAdded);
            Assert.Equal(25, writer.DataBlobsAdded);
        }

        using var reopened = await TestRepositories.OpenAsync(folder.Path);
        Assert.NotEmpty(await NamesUnder(reopened, Layout.IndexFolder));
        Assert.Equal(0, reopened.Index.BlobCount);
        await reopened.LoadIndexAsync();

        Assert.Equal(31, reopened.Index.BlobCount);
        foreach (var (id, (type, data)) in blobs)
        {
            Assert.True(reopened.Index.TryGet(id, out var location));
            Assert.Equal(type, location.Type);
            Assert.Equal((uint)data.Length, location.RawLength);
            Assert.Equal(data, await reopened.ReadBlobAsync(id));
        }
    }

    [Fact]
    public async Task Loading_the_index_twice_adds_nothing_new()
    {
        using var folder = new TempFolder("repo");
        using (var repo = await TestRepositories.InitAsync(folder.Path))
        await using (var writer = new BlobWriter(repo))
        {
            writer.Save(BlobType.Data, TestData.Text(1000), out _);
            await writer.FlushAsync();
        }

        using var reopened = await TestRepositories.ReopenWithIndexAsync(folder.Path);
        await reopened.LoadIndexAsync();

        Assert.Equal(1, reopened.Index.BlobCount);
        Assert.Equal(1, reopened.Index.PackCount);
    }

    [Fact]
    public async Task Nothing_is_stored_before_flush_for_a_session_smaller_than_a_pack()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        await using var writer = new BlobWriter(repo);

        writer.Save(BlobType.Data, TestData.RandomBytes(1000), out _);

        Assert.Empty(await NamesUnder(repo, Layout.DataFolder));
        Assert.Empty(await NamesUnder(repo, Layout.IndexFolder));
    }

    [Fact]
    public async Task Blob_and_pack_contents_are_stored_encrypted()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path, options: TestRepositories.FastOptions(compressionLevel: 0));
        var secret = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("TOP-SECRET-PAYLOAD ", 50)));
        BlobId id;
        await using (var writer = new BlobWriter(repo))
        {
            id = writer.Save(BlobType.Data, secret, out _);
            await writer.FlushAsync();
        }

        foreach (var file in Directory.EnumerateFiles(folder.Path, "*", SearchOption.AllDirectories))
        {
            var text = System.Text.Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file));
            Assert.DoesNotContain("TOP-SECRET", text);
            Assert.DoesNotContain(id.ToString(), text);
        }
    }

    [Fact]
    public async Task A_blob_whose_pack_bytes_were_flipped_on_disk_is_reported_as_corrupt_on_read()
    {
        using var folder = new TempFolder("repo");
        BlobId damaged, intact;
        var intactData = TestData.Text(20_000, seed: 2);
        using (var repo = await TestRepositories.InitAsync(folder.Path))
        await using (var writer = new BlobWriter(repo))
        {
            damaged = writer.Save(BlobType.Data, TestData.RandomBytes(20_000, seed: 1), out _);
            intact = writer.Save(BlobType.Data, intactData, out _);
            await writer.FlushAsync();
        }
        using var reopened = await TestRepositories.ReopenWithIndexAsync(folder.Path);
        Assert.True(reopened.Index.TryGet(damaged, out var location));
        var packName = Layout.Pack(reopened.Index.PackOf(location));
        var packPath = folder.Combine(packName.Split('/'));
        var bytes = await File.ReadAllBytesAsync(packPath);
        bytes[location.Offset + location.Length / 2] ^= 0x04;
        await File.WriteAllBytesAsync(packPath, bytes);

        var e = await Assert.ThrowsAsync<CorruptDataException>(() => reopened.ReadBlobAsync(damaged));

        Assert.Contains(damaged.ToShortString(), e.Message);
        Assert.Contains(packName, e.Message);
        Assert.Equal(intactData, await reopened.ReadBlobAsync(intact));
    }

    [Fact]
    public async Task A_blob_missing_from_the_index_is_reported_as_corrupt_data()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);

        await Assert.ThrowsAsync<CorruptDataException>(() => repo.ReadBlobAsync(repo.Key.ComputeBlobId([1, 2, 3])));
    }

    [Fact]
    public async Task A_damaged_index_file_is_reported_as_corrupt_data_when_loaded()
    {
        using var folder = new TempFolder("repo");
        using (var repo = await TestRepositories.InitAsync(folder.Path))
        await using (var writer = new BlobWriter(repo))
        {
            writer.Save(BlobType.Data, TestData.Text(1000), out _);
            await writer.FlushAsync();
        }
        var indexPath = Directory.GetFiles(folder.Combine("index")).Single();
        var bytes = await File.ReadAllBytesAsync(indexPath);
        bytes[^1] ^= 0x80;
        await File.WriteAllBytesAsync(indexPath, bytes);

        using var reopened = await TestRepositories.OpenAsync(folder.Path);
        await Assert.ThrowsAsync<CorruptDataException>(() => reopened.LoadIndexAsync());
    }

    [Fact]
    public async Task Packs_roll_over_at_the_configured_pack_size()
    {
        using var folder = new TempFolder("repo");
        const int packSize = 1 << 20, blobSize = 128 << 10, blobCount = 40; // 5 MiB of incompressible data
        var ids = new List<BlobId>();
        using (var repo = await TestRepositories.InitAsync(folder.Path, options: TestRepositories.FastOptions(packSize)))
        await using (var writer = new BlobWriter(repo))
        {
            for (int i = 0; i < blobCount; i++) ids.Add(writer.Save(BlobType.Data, TestData.RandomBytes(blobSize, seed: i), out _));
            await writer.FlushAsync();
        }

        using var reopened = await TestRepositories.ReopenWithIndexAsync(folder.Path);
        var packs = new List<(string Name, long Size)>();
        await foreach (var o in reopened.Backend.ListAsync(Layout.DataFolder)) packs.Add((o.Name, o.Size));

        Assert.InRange(packs.Count, 5, 6);
        Assert.Equal(packs.Count, reopened.Index.PackCount);
        foreach (var (name, size) in packs)
        {
            // A pack closes once it reaches the pack size, so it overshoots by less than one blob.
            Assert.InRange(size, 1, packSize + blobSize + 4096);
            Assert.Equal(Layout.IdOf(name)!.Value.ToString()[..2], name.Split('/')[1]);
            var entries = PackFormat.ReadHeader(reopened.Key.Cipher, await reopened.Backend.GetAsync(name), name);
            Assert.NotEmpty(entries);
        }
        Assert.Equal(blobCount, reopened.Index.BlobCount);
        for (int i = 0; i < blobCount; i++)
            Assert.Equal(TestData.RandomBytes(blobSize, seed: i), await reopened.ReadBlobAsync(ids[i]));
    }

    [Fact]
    public async Task Trees_and_data_never_share_a_pack()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path, options: TestRepositories.FastOptions(1 << 20));
        await using (var writer = new BlobWriter(repo))
        {
            for (int i = 0; i < 40; i++)
                writer.Save(i % 4 == 0 ? BlobType.Tree : BlobType.Data, TestData.RandomBytes(100_000, seed: i), out _);
            await writer.FlushAsync();
        }

        var packTypes = new List<BlobType[]>();
        foreach (var name in await NamesUnder(repo, Layout.DataFolder))
            packTypes.Add(PackFormat.ReadHeader(repo.Key.Cipher, await repo.Backend.GetAsync(name), name).Select(e => e.Type).Distinct().ToArray());
        Assert.All(packTypes, types => Assert.Single(types));
        Assert.Contains(packTypes, t => t[0] == BlobType.Tree);
        Assert.Contains(packTypes, t => t[0] == BlobType.Data);
    }

    [Fact]
    public async Task Pack_names_are_the_sha256_of_their_contents()
    {
        using var folder = new TempFolder("repo");
        using var repo = await TestRepositories.InitAsync(folder.Path);
        await using (var writer = new BlobWriter(repo))
        {
            writer.Save(BlobType.Data, TestData.Text(3000), out _);
            await writer.FlushAsync();
        }

        foreach (var name in (await NamesUnder(repo, Layout.DataFolder)).Concat(await NamesUnder(repo, Layout.IndexFolder)))
        {
            var bytes = await repo.Backend.GetAsync(name);
            Assert.Equal(Layout.IdOf(name)!.Value, new BlobId(System.Security.Cryptography.SHA256.HashData(bytes)));
        }
    }

    [Fact]
    public async Task Blobs_saved_from_several_threads_are_all_stored_once()
    {
        using var folder = new TempFolder("repo");
        var data = Enumerable.Range(0, 50).Select(i => TestData.Text(4000, seed: i)).ToArray();
        using (var repo = await TestRepositories.InitAsync(folder.Path))
        await using (var writer = new BlobWriter(repo))
        {
            // Every thread saves every blob: exactly one save of each may win.
            int added = 0;
            Parallel.For(0, 4, _ =>
            {
                foreach (var d in data)
                {
                    writer.Save(BlobType.Data, d, out bool a);
                    if (a) Interlocked.Increment(ref added);
                }
            });
            await writer.FlushAsync();
            Assert.Equal(data.Length, added);
        }

        using var reopened = await TestRepositories.ReopenWithIndexAsync(folder.Path);
        Assert.Equal(data.Length, reopened.Index.BlobCount);
        foreach (var d in data) Assert.Equal(d, await reopened.ReadBlobAsync(reopened.Key.ComputeBlobId(d)));
    }
}
