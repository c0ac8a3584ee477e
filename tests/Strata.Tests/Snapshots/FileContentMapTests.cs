using Strata.Snapshots;
using Strata.Repository;

namespace Strata.Tests.Snapshots;

public sealed class FileContentMapTests
{
    [Fact]
    public void Reads_across_chunk_boundaries_fetch_only_the_chunks_they_cover()
    {
        // Chunks of 10, 0, 7 and 13 bytes; byte i of the file is i.
        int[] lengths = [10, 0, 7, 13];
        var chunks = new Dictionary<BlobId, byte[]>();
        var ids = new List<BlobId>();
        int at = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            var idBytes = new byte[BlobId.Size];
            idBytes[0] = (byte)(i + 1);
            var id = new BlobId(idBytes);
            ids.Add(id);
            chunks[id] = Enumerable.Range(at, lengths[i]).Select(b => (byte)b).ToArray();
            at += lengths[i];
        }
        var file = new FileContentMap(ids, id => chunks[id].Length);
        var fetched = new List<BlobId>();
        byte[] Fetch(BlobId id) { fetched.Add(id); return chunks[id]; }

        Assert.Equal(30, file.Length);
        for (int offset = 0; offset <= 31; offset++)
            for (int size = 1; size <= 31; size++)
            {
                var buffer = new byte[size];
                int n = file.Read(buffer, offset, Fetch);
                Assert.Equal(Math.Clamp(30 - offset, 0, size), n);
                for (int k = 0; k < n; k++) Assert.Equal((byte)(offset + k), buffer[k]);
            }

        Assert.Equal(ids[0], file.ChunkAt(9));
        Assert.Equal(ids[2], file.ChunkAt(10));   // chunk 1 is empty and starts there too
        Assert.Equal(ids[3], file.ChunkAt(10, ahead: 1));
        Assert.Equal(ids[3], file.ChunkAt(29));
        Assert.Null(file.ChunkAt(30));
        Assert.Null(file.ChunkAt(17, ahead: 1));

        fetched.Clear();
        file.Read(new byte[3], 15, Fetch);
        Assert.Equal([ids[2], ids[3]], fetched);
    }
}
