using Strata.Chunking;
using static Strata.Tests.Chunking.ChunkingTestData;

namespace Strata.Tests.Chunking;

public class StreamChunkerTests
{
    private static readonly int Min = Small.MinSize, Max = Small.MaxSize;

    public static TheoryData<int> Lengths => new()
    {
        0, 1, Min - 1, Min, Min + 1, Max - 1, Max, Max + 1, 2 * Max, 3 * Max + 17,
        5 << 20,                 // several buffer refills
        (9 << 20) + 12345,
    };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void StreamChunker_concatenated_chunks_equal_input(int length)
    {
        var data = RandomBytes(length, seed: length);
        var cdc = new FastCdc(Small, Table());

        var (joined, lengths, bytesRead) = ReadAll(cdc, new MemoryStream(data));

        Assert.Equal(data, joined);
        Assert.Equal(ChunkLengths(cdc, data), lengths);
        Assert.Equal(length, bytesRead);
    }

    /// <summary>Pipes and sockets return fewer bytes than asked; boundaries must not depend on that.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(70_001)]
    public void Short_reads_give_the_same_chunks(int largestRead)
    {
        var data = RandomBytes(3 << 20, seed: 11);
        var cdc = new FastCdc(Small, Table());

        var (joined, lengths, _) = ReadAll(cdc, new TricklingStream(data, largestRead));

        Assert.Equal(data, joined);
        Assert.Equal(ChunkLengths(cdc, data), lengths);
    }

    [Fact]
    public void Default_parameters_on_a_large_stream_give_the_same_chunks_as_one_pass()
    {
        var data = RandomBytes(24 << 20, seed: 12);
        var cdc = new FastCdc(ChunkerParameters.Default, Table());

        var (joined, lengths, _) = ReadAll(cdc, new MemoryStream(data));

        Assert.Equal(data, joined);
        Assert.Equal(ChunkLengths(cdc, data), lengths);
    }

    [Fact]
    public void Empty_stream_gives_no_chunks()
    {
        using var chunker = new StreamChunker(new FastCdc(Small, Table()), new MemoryStream());
        Assert.False(chunker.TryReadChunk(out var chunk));
        Assert.True(chunk.IsEmpty);
        Assert.False(chunker.TryReadChunk(out _));
        Assert.Equal(0, chunker.BytesRead);
    }

    [Fact]
    public void Reading_after_dispose_throws()
    {
        var chunker = new StreamChunker(new FastCdc(Small, Table()), new MemoryStream(new byte[10]));
        chunker.Dispose();
        chunker.Dispose();
        Assert.Throws<ObjectDisposedException>(() => chunker.TryReadChunk(out _));
    }

    private static (byte[] Joined, List<int> Lengths, long BytesRead) ReadAll(FastCdc cdc, Stream stream)
    {
        using var chunker = new StreamChunker(cdc, stream);
        var joined = new MemoryStream();
        var lengths = new List<int>();
        while (chunker.TryReadChunk(out var chunk))
        {
            joined.Write(chunk.Span);
            lengths.Add(chunk.Length);
        }
        return (joined.ToArray(), lengths, chunker.BytesRead);
    }

    /// <summary>Returns at most <c>largestRead</c> bytes per read, varying the amount.</summary>
    private sealed class TricklingStream(byte[] data, int largestRead) : MemoryStream(data)
    {
        private readonly Random _random = new(13);

        public override int Read(byte[] buffer, int offset, int count) =>
            base.Read(buffer, offset, Math.Min(count, _random.Next(1, largestRead + 1)));

        public override int Read(Span<byte> buffer) =>
            base.Read(buffer[..Math.Min(buffer.Length, _random.Next(1, largestRead + 1))]);
    }
}
