using Strata.Platform;

namespace Strata.Tests.Platform;

public sealed class HoleSkippingReadStreamTests : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void HoleSkippingReadStream_returns_zeros_for_holes_and_data_where_written()
    {
        string path = CreateSparse(64 * MiB, (MiB, "abc"u8.ToArray()), (40 * MiB + 5, "xyz"u8.ToArray()));
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, 64 * MiB);

        byte[] all = ReadAll(stream, bufferSize: MiB);

        Assert.Equal(64 * MiB, all.Length);
        Assert.Equal("abc"u8.ToArray(), all[MiB..(MiB + 3)]);
        Assert.Equal("xyz"u8.ToArray(), all[(40 * MiB + 5)..(40 * MiB + 8)]);
        Assert.Equal(6, all.Count(b => b != 0));
        Assert.InRange(stream.BytesReadFromDisk, 6, 64 * 1024);
        Assert.False(stream.ShrankWhileReading);
    }

    [Fact]
    public void HoleSkippingReadStream_reads_a_dense_file_byte_for_byte()
    {
        byte[] content = new byte[300_001];
        new Random(42).NextBytes(content);
        string path = _dir.Combine("dense");
        File.WriteAllBytes(path, content);
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, content.Length);

        Assert.Equal(content, ReadAll(stream, bufferSize: 65536));
        Assert.Equal(content.Length, stream.BytesReadFromDisk);
    }

    [Fact]
    public void HoleSkippingReadStream_is_correct_with_small_reads_across_extent_boundaries()
    {
        string path = CreateSparse(256 * 1024, (4096 - 2, "edge"u8.ToArray()), (200_000, "mid"u8.ToArray()), (256 * 1024 - 1, "z"u8.ToArray()));
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, 256 * 1024);

        Assert.Equal(File.ReadAllBytes(path), ReadAll(stream, bufferSize: 7));
    }

    [Fact]
    public void HoleSkippingReadStream_returns_only_zeros_for_a_file_that_is_all_hole()
    {
        string path = CreateSparse(8 * MiB);
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, 8 * MiB);

        byte[] all = ReadAll(stream, bufferSize: MiB);

        Assert.Equal(8 * MiB, all.Length);
        Assert.DoesNotContain(all, b => b != 0);
        Assert.False(stream.ShrankWhileReading);
    }

    [Fact]
    public void HoleSkippingReadStream_of_an_empty_file_ends_at_once()
    {
        string path = _dir.WriteFile("empty");
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, 0);

        Assert.Equal(0, stream.Read(new byte[16]));
        Assert.Equal(-1, stream.ReadByte());
    }

    [Fact]
    public void HoleSkippingReadStream_falls_back_to_plain_reads_without_hole_probing()
    {
        string path = CreateSparse(2 * MiB, (MiB, "abc"u8.ToArray()));
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, 2 * MiB, probeHoles: false);

        Assert.Equal(File.ReadAllBytes(path), ReadAll(stream, bufferSize: 65536));
        Assert.Equal(2 * MiB, stream.BytesReadFromDisk);
    }

    [Fact]
    public async Task HoleSkippingReadStream_ReadAsync_returns_the_same_bytes_as_Read()
    {
        string path = CreateSparse(4 * MiB, (100, "head"u8.ToArray()), (3 * MiB, "tail"u8.ToArray()));
        using var handle = File.OpenHandle(path, options: FileOptions.Asynchronous);
        using var stream = new HoleSkippingReadStream(handle, 4 * MiB);
        var copy = new MemoryStream();

        await stream.CopyToAsync(copy);

        Assert.Equal(File.ReadAllBytes(path), copy.ToArray());
        Assert.True(stream.BytesReadFromDisk < 4 * MiB);
    }

    [Fact]
    public void HoleSkippingReadStream_pads_with_zeros_and_flags_a_file_that_shrank_while_reading()
    {
        byte[] content = Enumerable.Repeat((byte)0xAB, MiB).ToArray();
        string path = _dir.Combine("shrinking");
        File.WriteAllBytes(path, content);
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, MiB);

        byte[] first = new byte[MiB / 4];
        stream.ReadExactly(first);
        using (var writer = File.OpenHandle(path, FileMode.Open, FileAccess.Write))
            RandomAccess.SetLength(writer, MiB / 2);
        byte[] rest = ReadAll(stream, bufferSize: 65536);

        Assert.Equal(MiB - MiB / 4, rest.Length);
        Assert.All(rest[..(MiB / 4)], b => Assert.Equal(0xAB, b));
        Assert.All(rest[(MiB / 4)..], b => Assert.Equal(0, b));
        Assert.True(stream.ShrankWhileReading);
    }

    [Fact]
    public void HoleSkippingReadStream_flags_a_sparse_file_truncated_before_reading()
    {
        string path = CreateSparse(4 * MiB, (MiB, "abc"u8.ToArray()));
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, 4 * MiB);
        using (var writer = File.OpenHandle(path, FileMode.Open, FileAccess.Write))
            RandomAccess.SetLength(writer, 1000);

        byte[] all = ReadAll(stream, bufferSize: MiB);

        Assert.Equal(4 * MiB, all.Length);
        Assert.DoesNotContain(all, b => b != 0);
        Assert.True(stream.ShrankWhileReading);
    }

    [Fact]
    public void HoleSkippingReadStream_stops_at_the_length_given_even_if_the_file_grew()
    {
        string path = _dir.WriteFile("growing", "0123456789");
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, 4);
        File.AppendAllText(path, "more");

        Assert.Equal("0123"u8.ToArray(), ReadAll(stream, bufferSize: 100));
        Assert.False(stream.ShrankWhileReading);
    }

    [Fact]
    public void HoleSkippingReadStream_is_read_only_and_forward_only()
    {
        string path = _dir.WriteFile("file", "x");
        using var handle = File.OpenHandle(path);
        using var stream = new HoleSkippingReadStream(handle, 1);

        Assert.True(stream.CanRead);
        Assert.False(stream.CanSeek);
        Assert.False(stream.CanWrite);
        Assert.Throws<NotSupportedException>(() => stream.Seek(0, SeekOrigin.Begin));
        Assert.Throws<NotSupportedException>(() => stream.Write([1], 0, 1));
    }

    private string CreateSparse(long length, params (long Offset, byte[] Data)[] writes)
    {
        string path = _dir.Combine("sparse");
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        RandomAccess.SetLength(handle, length);
        foreach (var (offset, data) in writes)
            RandomAccess.Write(handle, data, offset);
        return path;
    }

    private static byte[] ReadAll(Stream stream, int bufferSize)
    {
        var all = new MemoryStream();
        byte[] buffer = new byte[bufferSize];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            all.Write(buffer, 0, read);
        return all.ToArray();
    }
}
