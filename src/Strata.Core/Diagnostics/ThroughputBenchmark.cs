using System.Diagnostics;
using System.Security.Cryptography;
using Strata.Chunking;
using Strata.Compression;
using Strata.Crypto;

namespace Strata.Diagnostics;

/// <summary>
/// Measures, on this machine, the per-core speed of every stage a backup's bytes pass through,
/// so users can compare machines and see which stage bounds their backups (like PBS and Kopia offer).
/// The input is half random, half text-like, close to a typical mix of files.
/// </summary>
public static class ThroughputBenchmark
{
    public sealed record Result(string Stage, double MegabytesPerSecond);

    public static IReadOnlyList<Result> Run(int megabytes = 64, int compressionLevel = 3)
    {
        var data = MakeInput(megabytes << 20);
        var results = new List<Result>();
        var cdc = new FastCdc(ChunkerParameters.Default, GearTable.FromSeed(RandomNumberGenerator.GetBytes(32)));
        var key = MasterKey.Generate();

        results.Add(Measure("chunking (FastCDC)", data.Length, () =>
        {
            var span = data.AsSpan();
            while (span.Length > 0) span = span[cdc.NextChunkLength(span, endOfInput: true)..];
        }));
        results.Add(Measure("hashing (HMAC-SHA-256)", data.Length, () =>
        {
            for (int off = 0; off < data.Length; off += 1 << 20) key.ComputeBlobId(data.AsSpan(off, 1 << 20));
        }));
        var compressed = new byte[Zstd.CompressBound(1 << 20)];
        results.Add(Measure($"compression (zstd {compressionLevel})", data.Length, () =>
        {
            for (int off = 0; off < data.Length; off += 1 << 20) Zstd.Compress(data.AsSpan(off, 1 << 20), compressed, compressionLevel);
        }));
        // A frame of the text-like half: a frame of random bytes is stored raw and decompresses at memcpy speed.
        int frame = Zstd.Compress(data.AsSpan(data.Length / 2, 1 << 20), compressed, compressionLevel);
        var plain = new byte[1 << 20];
        results.Add(Measure("decompression (zstd)", data.Length, () =>
        {
            for (int off = 0; off < data.Length; off += 1 << 20) Zstd.Decompress(compressed.AsSpan(0, frame), plain);
        }));
        var sealedBuffer = new byte[AuthenticatedCipher.SealedLength(1 << 20)];
        results.Add(Measure("encryption (AES-256-GCM)", data.Length, () =>
        {
            for (int off = 0; off < data.Length; off += 1 << 20) key.Cipher.Seal(data.AsSpan(off, 1 << 20), sealedBuffer);
        }));
        key.Cipher.Seal(data.AsSpan(0, 1 << 20), sealedBuffer);
        results.Add(Measure("decryption (AES-256-GCM)", data.Length, () =>
        {
            for (int off = 0; off < data.Length; off += 1 << 20) key.Cipher.Open(sealedBuffer, plain, "benchmark");
        }));
        return results;
    }

    private static Result Measure(string stage, long bytes, Action action)
    {
        action(); // warm up: JIT, native contexts, caches
        var best = TimeSpan.MaxValue;
        for (int run = 0; run < 3; run++)
        {
            var clock = Stopwatch.StartNew();
            action();
            if (clock.Elapsed < best) best = clock.Elapsed;
        }
        return new Result(stage, bytes / 1e6 / Math.Max(best.TotalSeconds, 1e-9));
    }

    private static byte[] MakeInput(int length)
    {
        var data = new byte[length];
        var random = new Random(42);
        random.NextBytes(data.AsSpan(0, length / 2));
        var words = "backup restore chunk index snapshot pack tree blob error retry commit "u8.ToArray();
        for (int i = length / 2; i < length; i++) data[i] = words[(i * 7 + random.Next(3)) % words.Length];
        return data;
    }
}
