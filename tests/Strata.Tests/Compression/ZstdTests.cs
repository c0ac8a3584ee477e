using System.Text;
using Strata.Compression;
using Strata.Errors;

namespace Strata.Tests.Compression;

public class ZstdTests
{
    /// <summary>Text-like input that compresses well.</summary>
    private static byte[] Compressible(int length)
    {
        var text = new StringBuilder();
        for (int i = 0; text.Length < length; i++) text.Append("line ").Append(i % 977).Append(": the quick brown fox\n");
        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }

    private static byte[] Random(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static byte[] CompressToArray(byte[] input, int level = Zstd.DefaultLevel)
    {
        var frame = new byte[Zstd.CompressBound(input.Length)];
        int n = Zstd.Compress(input, frame, level);
        return frame[..n];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(1 << 20)]
    [InlineData((4 << 20) + 3)]
    public void Round_trip_restores_the_input(int length)
    {
        var input = Compressible(length);
        var frame = CompressToArray(input);

        var output = new byte[length];
        Assert.Equal(length, Zstd.Decompress(frame, output));
        Assert.Equal(input, output);
        Assert.Equal(length, Zstd.FrameContentSize(frame));
        if (length >= 1000) Assert.True(frame.Length < length / 4, $"{length} bytes compressed to {frame.Length}");
    }

    [Theory]
    [InlineData(-7)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(19)]
    public void Every_level_round_trips(int level)
    {
        var input = Compressible(300_000);
        var output = new byte[input.Length];
        Zstd.Decompress(CompressToArray(input, level), output);
        Assert.Equal(input, output);
    }

    [Fact]
    public void Incompressible_data_fits_in_the_bound_and_round_trips()
    {
        var input = Random(1 << 20);
        var frame = CompressToArray(input);

        Assert.InRange(frame.Length, input.Length, Zstd.CompressBound(input.Length));
        var output = new byte[input.Length];
        Assert.Equal(input.Length, Zstd.Decompress(frame, output));
        Assert.Equal(input, output);
    }

    [Fact]
    public void TryCompress_reports_a_frame_that_does_not_fit()
    {
        var random = Random(100_000);
        var destination = new byte[random.Length - 1];
        Assert.False(Zstd.TryCompress(random, destination, 3, out int written));
        Assert.Equal(0, written);

        var text = Compressible(100_000);
        Assert.True(Zstd.TryCompress(text, destination, 3, out written));
        Assert.InRange(written, 1, text.Length / 4);
    }

    [Fact]
    public void Compress_into_a_too_small_destination_throws()
    {
        var error = Assert.Throws<StrataException>(() => Zstd.Compress(Random(10_000), new byte[100], 3));
        Assert.Contains("too small", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Decompress_into_a_too_small_destination_is_corrupt_data()
    {
        var frame = CompressToArray(Compressible(10_000));
        var error = Assert.Throws<CorruptDataException>(() => Zstd.Decompress(frame, new byte[9_999]));
        Assert.Contains("9999", error.Message);
    }

    [Fact]
    public void Corrupt_frames_throw_CorruptDataException()
    {
        var frame = CompressToArray(Compressible(50_000));
        var output = new byte[50_000];

        byte[] badMagic = [.. frame];
        badMagic[0] ^= 0xFF;
        Assert.Throws<CorruptDataException>(() => Zstd.Decompress(badMagic, output));
        Assert.Throws<CorruptDataException>(() => Zstd.FrameContentSize(badMagic));

        Assert.Throws<CorruptDataException>(() => Zstd.Decompress(frame[..^5], output));
        Assert.Throws<CorruptDataException>(() => Zstd.Decompress([], output));
        Assert.Throws<CorruptDataException>(() => Zstd.Decompress(Random(5000), output));
        Assert.Throws<CorruptDataException>(() => Zstd.FrameContentSize(frame[..3]));
    }

    /// <summary>Frames written by a streaming producer (here `printf 'hello hello hello' | zstd -c`) may omit their size.</summary>
    [Fact]
    public void Frame_without_a_stated_size_reports_minus_one_and_still_decompresses()
    {
        byte[] frame =
        [
            0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x65, 0x00, 0x00, 0x30, 0x68, 0x65,
            0x6c, 0x6c, 0x6f, 0x20, 0x01, 0x00, 0x31, 0x4a, 0x11, 0xa2, 0xed, 0x1e,
            0x0c,
        ];
        Assert.Equal(-1, Zstd.FrameContentSize(frame));

        var output = new byte[100];
        int n = Zstd.Decompress(frame, output);
        Assert.Equal("hello hello hello", Encoding.ASCII.GetString(output, 0, n));
    }

    [Fact]
    public void Out_of_range_level_and_length_are_refused()
    {
        var input = Compressible(1000);
        var frame = new byte[Zstd.CompressBound(input.Length)];
        Assert.Throws<ArgumentOutOfRangeException>(() => Zstd.Compress(input, frame, Zstd.MaxLevel + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Zstd.CompressBound(-1));
        Assert.Equal(22, Zstd.MaxLevel);
    }

    [Fact]
    public void Threads_use_their_own_contexts()
    {
        var inputs = Enumerable.Range(0, 64).Select(i => i % 2 == 0 ? Compressible(100_000 + i) : Random(100_000 + i, i)).ToArray();
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var frame = CompressToArray(inputs[i], level: 1 + i % 5);
            var output = new byte[inputs[i].Length];
            Assert.Equal(output.Length, Zstd.Decompress(frame, output));
            Assert.Equal(inputs[i], output);
        });
    }

    [Fact]
    public void A_missing_native_library_names_the_Debian_package()
    {
        var error = Assert.Throws<StrataException>(() => Strata.Native.NativeLibraries.Require("libstrata-missing.so.9", "libstrata-missing9"));
        Assert.Equal("libstrata-missing.so.9 not found: install the Debian package libstrata-missing9", error.Message);
    }
}
