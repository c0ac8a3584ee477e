using System.Security.Cryptography;
using Strata.Repository;

namespace Strata.Tests.Repository;

public class MasterIndexTests
{
    private static BlobId RandomId() => new(RandomNumberGenerator.GetBytes(BlobId.Size));

    private static List<PackEntry> Entries(int count, BlobType type = BlobType.Data)
    {
        var entries = new List<PackEntry>();
        for (int i = 0; i < count; i++) entries.Add(new PackEntry(type, RandomId(), (uint)(i * 100), 100, (uint)(200 + i)));
        return entries;
    }

    [Fact]
    public void An_added_blob_can_be_looked_up_with_its_pack_and_position()
    {
        var index = new MasterIndex();
        var pack = RandomId();
        var entries = Entries(3, BlobType.Tree);

        index.AddPack(pack, entries);

        foreach (var e in entries)
        {
            Assert.True(index.Contains(e.Id));
            Assert.True(index.TryGet(e.Id, out var location));
            Assert.Equal(pack, index.PackOf(location));
            Assert.Equal(Layout.Pack(pack), index.PackNameOf(location));
            Assert.Equal((e.Offset, e.Length, e.RawLength, e.Type), (location.Offset, location.Length, location.RawLength, location.Type));
        }
        Assert.Equal(3, index.BlobCount);
        Assert.Equal(1, index.PackCount);
        Assert.Equal([pack], index.Packs);
    }

    [Fact]
    public void An_unknown_blob_is_not_found()
    {
        var index = new MasterIndex();
        index.AddPack(RandomId(), Entries(5));

        var unknown = RandomId();

        Assert.False(index.Contains(unknown));
        Assert.False(index.TryGet(unknown, out _));
    }

    [Fact]
    public void The_same_pack_added_twice_is_counted_once()
    {
        var index = new MasterIndex();
        var pack = RandomId();

        index.AddPack(pack, Entries(2));
        index.AddPack(pack, Entries(2));

        Assert.Equal(1, index.PackCount);
        Assert.Equal(4, index.BlobCount);
        Assert.All(index.Blobs, b => Assert.Equal(pack, index.PackOf(b.Value)));
    }

    [Fact]
    public void A_blob_stored_in_two_packs_keeps_its_first_location()
    {
        var index = new MasterIndex();
        var first = RandomId();
        var entry = Entries(1)[0];

        index.AddPack(first, [entry]);
        index.AddPack(RandomId(), [entry with { Offset = 999 }]);

        Assert.True(index.TryGet(entry.Id, out var location));
        Assert.Equal(first, index.PackOf(location));
        Assert.Equal(entry.Offset, location.Offset);
        Assert.Equal(2, index.PackCount);
    }

    [Fact]
    public void An_index_file_is_added_only_once_by_name()
    {
        var index = new MasterIndex();
        var file = new IndexFile();
        file.Packs.Add((RandomId(), Entries(3)));
        file.Packs.Add((RandomId(), Entries(4)));

        Assert.False(index.HasLoaded("index/a"));
        index.Add(file, "index/a");
        index.Add(file, "index/a");

        Assert.True(index.HasLoaded("index/a"));
        Assert.False(index.HasLoaded("index/b"));
        Assert.Equal(7, index.BlobCount);
        Assert.Equal(2, index.PackCount);
    }

    [Fact]
    public void Concurrent_adds_and_lookups_from_several_threads_lose_nothing()
    {
        var index = new MasterIndex();
        const int threads = 8, packsPerThread = 50, blobsPerPack = 20;
        var shared = Entries(10); // every thread also adds these, as concurrent writers would
        var added = new List<(BlobId Pack, List<PackEntry> Entries)>[threads];

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            added[t] = new();
            for (int p = 0; p < packsPerThread; p++)
            {
                var pack = RandomId();
                var entries = Entries(blobsPerPack);
                if (p == 0) entries.AddRange(shared);
                index.AddPack(pack, entries);
                added[t].Add((pack, entries));
                // Readers run alongside writers: everything this thread added is visible at once.
                foreach (var e in entries) Assert.True(index.Contains(e.Id));
            }
        });

        Assert.Equal(threads * packsPerThread, index.PackCount);
        Assert.Equal(threads * packsPerThread * blobsPerPack + shared.Count, index.BlobCount);
        Assert.Equal(index.PackCount, index.Packs.Distinct().Count());
        foreach (var (pack, entries) in added.SelectMany(a => a))
        {
            foreach (var e in entries.Where(e => !shared.Contains(e)))
            {
                Assert.True(index.TryGet(e.Id, out var location));
                Assert.Equal(pack, index.PackOf(location));
            }
        }
        foreach (var e in shared)
        {
            Assert.True(index.TryGet(e.Id, out var location));
            var pack = index.PackOf(location);
            Assert.Contains(added.SelectMany(a => a), a => a.Pack == pack && a.Entries.Contains(e));
        }
    }

    [Fact]
    public void Index_files_loaded_concurrently_under_the_same_name_are_added_once()
    {
        var index = new MasterIndex();
        var file = new IndexFile();
        file.Packs.Add((RandomId(), Entries(100)));

        Parallel.For(0, 16, _ => index.Add(file, "index/same"));

        Assert.Equal(1, index.PackCount);
        Assert.Equal(100, index.BlobCount);
    }
}
