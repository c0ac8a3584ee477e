using Strata.Chunking;
using static Strata.Tests.Chunking.ChunkingTestData;

namespace Strata.Tests.Chunking;

public class FastCdcTests
{
    public static TheoryData<int, int, int> ParameterSets => new()
    {
        { 128 << 10, 512 << 10, 2 << 20 },
        { 32 << 10, 128 << 10, 512 << 10 },  // Default
        { 2048, 8192, 65536 },
        { 64, 256, 1024 },
    };

    [Theory]
    [MemberData(nameof(ParameterSets))]
    public void Chunks_respect_min_and_max_sizes(int min, int avg, int max)
    {
        var cdc = new FastCdc(new ChunkerParameters(min, avg, max), Table());
        // Random data cuts by content; a long zero run hits MaxSize; the odd total leaves a short tail.
        byte[] data = [.. RandomBytes(6 << 20, seed: 1), .. new byte[3 * max], .. RandomBytes(min / 2 + 1, seed: 2)];

        var lengths = ChunkLengths(cdc, data);

        Assert.Equal(data.Length, lengths.Sum(l => (long)l));
        Assert.All(lengths[..^1], l => Assert.InRange(l, min + 1, max));
        Assert.InRange(lengths[^1], 1, max);
        Assert.Contains(max, lengths);
    }

    [Theory]
    [MemberData(nameof(ParameterSets))]
    public void Average_chunk_size_is_near_the_target_on_random_data(int min, int avg, int max)
    {
        var cdc = new FastCdc(new ChunkerParameters(min, avg, max), Table());
        // About 2000 chunks, or 64 MiB (about a hundred chunks) for the large default sizes.
        var data = RandomBytes((int)Math.Min(64L << 20, 2000L * avg), seed: 3);

        var lengths = ChunkLengths(cdc, data);
        double mean = lengths[..^1].Average();

        Assert.InRange(mean, avg * 0.75, avg * 1.25);
    }

    [Theory]
    [InlineData(1, 10 << 20)]
    [InlineData(2, 7_654_321)]
    [InlineData(3, 150_000)]     // inside the first chunk
    public void Boundaries_after_an_insert_resynchronise(int seed, int editOffset)
    {
        var cdc = new FastCdc(ChunkerParameters.Default, Table());
        var original = RandomBytes(20 << 20, seed);
        byte[] edited = [.. original[..editOffset], .. RandomBytes(100, seed + 100), .. original[editOffset..]];

        AssertOnlyChunksNearTheEditChanged(cdc, original, edited, editOffset);
    }

    [Theory]
    [InlineData(1, 10 << 20)]
    [InlineData(2, 7_654_321)]
    [InlineData(3, 150_000)]
    public void Boundaries_after_a_delete_resynchronise(int seed, int editOffset)
    {
        var cdc = new FastCdc(ChunkerParameters.Default, Table());
        var original = RandomBytes(20 << 20, seed);
        byte[] edited = [.. original[..editOffset], .. original[(editOffset + 100)..]];

        AssertOnlyChunksNearTheEditChanged(cdc, original, edited, editOffset);
    }

    private static void AssertOnlyChunksNearTheEditChanged(FastCdc cdc, byte[] original, byte[] edited, int editOffset)
    {
        var before = ChunkHashes(cdc, original);
        var after = ChunkHashes(cdc, edited);
        var beforeLengths = ChunkLengths(cdc, original);

        int chunksEndingBeforeEdit = 0;
        for (long end = beforeLengths[0]; end <= editOffset; end += beforeLengths[++chunksEndingBeforeEdit]) { }

        int commonPrefix = 0;
        while (commonPrefix < Math.Min(before.Count, after.Count) && before[commonPrefix] == after[commonPrefix]) commonPrefix++;
        int commonSuffix = 0;
        while (commonSuffix < Math.Min(before.Count, after.Count) - commonPrefix
               && before[^(commonSuffix + 1)] == after[^(commonSuffix + 1)]) commonSuffix++;

        // Every chunk that ended before the edit is untouched ...
        Assert.True(commonPrefix >= chunksEndingBeforeEdit, $"only {commonPrefix} of the {chunksEndingBeforeEdit} chunks before the edit survived");
        // ... and after it the chunking falls back into step within about two chunks.
        int changedOriginalChunks = before.Count - commonPrefix - commonSuffix;
        int newChunks = after.Count - commonPrefix - commonSuffix;
        Assert.True(changedOriginalChunks <= 2, $"{changedOriginalChunks} of {before.Count} original chunks changed");
        Assert.True(newChunks <= 3, $"{newChunks} new chunks");
    }

    [Fact]
    public void Same_input_gives_same_chunks()
    {
        var data = RandomBytes(8 << 20, seed: 4);
        var first = new FastCdc(Small, Table(7));
        var second = new FastCdc(Small, Table(7));

        Assert.Equal(ChunkLengths(first, data), ChunkLengths(second, data));
        Assert.Equal(ChunkLengths(first, data), ChunkLengths(first, data));
    }

    [Fact]
    public void Different_seeds_give_different_boundaries()
    {
        var data = RandomBytes(8 << 20, seed: 5);
        var boundariesA = Boundaries(ChunkLengths(new FastCdc(Small, Table(1)), data));
        var boundariesB = Boundaries(ChunkLengths(new FastCdc(Small, Table(2)), data));

        // Independent tables share a boundary only by chance (a few percent at these sizes).
        int shared = boundariesA.Intersect(boundariesB).Count();
        Assert.True(shared < boundariesA.Count / 10, $"{shared} of {boundariesA.Count} boundaries coincide");

        static HashSet<long> Boundaries(List<int> lengths)
        {
            var set = new HashSet<long>();
            long offset = 0;
            foreach (int length in lengths[..^1]) set.Add(offset += length);
            return set;
        }
    }

    [Fact]
    public void Zero_filled_input_gives_MaxSize_chunks()
    {
        var cdc = new FastCdc(new ChunkerParameters(128 << 10, 512 << 10, 2 << 20), CountingSeedTable());
        var lengths = ChunkLengths(cdc, new byte[5 << 20]);
        Assert.Equal([2 << 20, 2 << 20, 1 << 20], lengths);
    }

    /// <summary>
    /// Expected lengths computed by an independent Python program written from the rule in the
    /// FastCdc and GearTable doc comments: this pins the on-disk format.
    /// </summary>
    [Fact]
    public void Boundaries_match_the_documented_rule()
    {
        var table = CountingSeedTable();

        var small = new FastCdc(new ChunkerParameters(64, 256, 1024), table);
        Assert.Equal(
            [285, 283, 309, 272, 324, 123, 289, 284, 351, 346, 354, 278, 290, 304, 334, 283, 289, 274, 297, 252, 288, 290, 367, 283, 357, 309, 276, 201],
            ChunkLengths(small, Sha256Stream(8192)));

        var standard = new FastCdc(new ChunkerParameters(128 << 10, 512 << 10, 2 << 20), table);
        Assert.Equal(
            [607148, 536491, 596059, 540523, 250151, 291758, 400133, 927107, 773080, 610963, 298036, 460007],
            ChunkLengths(standard, Sha256Stream(6 << 20)));
    }

    /// <summary>The fast scan (two bytes per step) must agree with the rule fed one byte at a time, at every offset parity.</summary>
    [Theory]
    [InlineData(64, 128, 192)]
    [InlineData(65, 128, 1001)]
    [InlineData(100, 256, 257)]
    [InlineData(2048, 8192, 65536)]
    public void Fast_scan_matches_a_one_byte_at_a_time_reference(int min, int avg, int max)
    {
        var parameters = new ChunkerParameters(min, avg, max);
        var table = Table(9);
        var cdc = new FastCdc(parameters, table);
        // Random bytes with zero runs so that both masks and MaxSize all decide some chunks.
        var data = RandomBytes(1 << 20, seed: 6);
        for (int i = 0; i < data.Length; i += 50_000) data.AsSpan(i, Math.Min(3 * max, data.Length - i)).Clear();

        for (int offset = 0; offset < data.Length;)
        {
            var rest = data.AsSpan(offset);
            int expected = ReferenceChunkLength(rest, parameters, table);
            Assert.Equal(expected, cdc.NextChunkLength(rest, endOfInput: true));
            offset += expected;
        }
    }

    /// <summary>Zero runs take a shortcut (a zero test instead of the gear hash); the chunks must be the very same, whatever the gear table.</summary>
    [Fact]
    public void Zero_runs_are_cut_exactly_where_the_gear_hash_cuts_them()
    {
        var parameters = new ChunkerParameters(256, 1024, 4096);
        var data = RandomBytes(200_000, seed: 3);
        data.AsSpan(10_000, 50_000).Clear();      // long runs, starting anywhere
        data.AsSpan(100_003, 4097).Clear();
        data.AsSpan(150_000, 300).Clear();        // shorter than a chunk
        for (int seed = 1; seed <= 40; seed++)
        {
            var table = Table((byte)seed);
            var cdc = new FastCdc(parameters, table);
            for (int offset = 0; offset < data.Length;)
            {
                var rest = data.AsSpan(offset);
                int expected = ReferenceChunkLength(rest, parameters, table);
                Assert.Equal(expected, cdc.NextChunkLength(rest, endOfInput: true));
                offset += expected;
            }
        }
    }

    private static int ReferenceChunkLength(ReadOnlySpan<byte> data, ChunkerParameters p, GearTable gear)
    {
        int bits = System.Numerics.BitOperations.Log2((uint)p.AverageSize);
        ulong maskS = ((1UL << (bits + 2)) - 1) << (63 - (bits + 2));
        ulong maskL = ((1UL << (bits - 2)) - 1) << (63 - (bits - 2));
        if (data.Length <= p.MinSize) return data.Length;
        ulong h = 0;
        for (int i = p.MinSize; i < Math.Min(data.Length, p.MaxSize); i++)
        {
            h = (h << 1) + gear[data[i]];
            if ((h & (i + 1 < p.AverageSize ? maskS : maskL)) == 0) return i + 1;
        }
        return Math.Min(data.Length, p.MaxSize);
    }

    [Fact]
    public void More_input_is_requested_only_while_a_boundary_could_still_move()
    {
        var cdc = new FastCdc(Small, Table());
        var zeros = new byte[Small.MaxSize];

        Assert.Equal(0, cdc.NextChunkLength([], endOfInput: false));
        Assert.Equal(0, cdc.NextChunkLength([], endOfInput: true));
        Assert.Equal(0, cdc.NextChunkLength(zeros.AsSpan(0, 100), endOfInput: false));
        Assert.Equal(100, cdc.NextChunkLength(zeros.AsSpan(0, 100), endOfInput: true));
        Assert.Equal(0, cdc.NextChunkLength(zeros.AsSpan(0, Small.MaxSize - 1), endOfInput: false));
        Assert.Equal(Small.MaxSize, cdc.NextChunkLength(zeros, endOfInput: false));

        // A boundary found in a partial buffer is final: the same one is found with the whole input.
        var data = RandomBytes(4 * Small.MaxSize, seed: 8);
        int whole = cdc.NextChunkLength(data, endOfInput: true);
        Assert.Equal(whole, cdc.NextChunkLength(data.AsSpan(0, whole), endOfInput: false));
    }

    [Fact]
    public void Invalid_parameters_are_refused()
    {
        Assert.Throws<Strata.Errors.UsageException>(() => new FastCdc(new ChunkerParameters(64, 100, 1000), Table()));
    }
}
