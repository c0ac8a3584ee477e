using Strata.Crypto;
using Strata.Errors;
using Strata.Repository;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Repository;

public class EnvelopeTests
{
    private static readonly MasterKey Key = MasterKey.Generate();
    private static AuthenticatedCipher Cipher => Key.Cipher;

    /// <summary>The flag byte that says how the body is stored: only visible after decryption.</summary>
    private static byte FlagOf(byte[] sealedEnvelope) => Cipher.Open(sealedEnvelope, "test")[0];

    [Fact]
    public void Random_data_is_stored_raw()
    {
        var data = TestData.RandomBytes(64 << 10);

        var sealedEnvelope = Envelope.Seal(Cipher, data, compressionLevel: 3);

        Assert.Equal(Envelope.Raw, FlagOf(sealedEnvelope));
        Assert.Equal(AuthenticatedCipher.SealedLength(1 + data.Length), sealedEnvelope.Length);
    }

    [Fact]
    public void Text_is_stored_compressed()
    {
        var text = TestData.Text(64 << 10);

        var sealedEnvelope = Envelope.Seal(Cipher, text, compressionLevel: 3);

        Assert.Equal(Envelope.Zstd, FlagOf(sealedEnvelope));
        Assert.True(sealedEnvelope.Length < text.Length / 2, $"{sealedEnvelope.Length} bytes stored for {text.Length} bytes of text");
    }

    [Fact]
    public void Compression_level_zero_always_stores_raw()
    {
        var text = TestData.Text(64 << 10);

        Assert.Equal(Envelope.Raw, FlagOf(Envelope.Seal(Cipher, text, compressionLevel: 0)));
    }

    [Fact]
    public void Inputs_under_64_bytes_are_never_compressed()
    {
        var tiny = new byte[63];

        Assert.Equal(Envelope.Raw, FlagOf(Envelope.Seal(Cipher, tiny, compressionLevel: 3)));
    }

    [Fact]
    public void Compression_that_saves_less_than_a_32nd_is_not_kept()
    {
        // Random bytes with a short run of zeros: zstd saves about 1.5 %, under the 1/32 (3.1 %) bar.
        var data = TestData.RandomBytes(32 << 10);
        Array.Clear(data, 0, 512);

        Assert.Equal(Envelope.Raw, FlagOf(Envelope.Seal(Cipher, data, compressionLevel: 3)));
    }

    [Fact]
    public void Compression_that_saves_more_than_a_32nd_is_kept()
    {
        // Random bytes with a longer run of zeros: zstd saves about 12 %.
        var data = TestData.RandomBytes(32 << 10);
        Array.Clear(data, 0, 4096);

        Assert.Equal(Envelope.Zstd, FlagOf(Envelope.Seal(Cipher, data, compressionLevel: 3)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Both_raw_and_compressed_envelopes_round_trip_into_a_buffer_of_the_known_length(bool compressible)
    {
        var data = compressible ? TestData.Text(100_000) : TestData.RandomBytes(100_000);
        var sealedEnvelope = Envelope.Seal(Cipher, data, compressionLevel: 3);
        var destination = new byte[data.Length];

        Envelope.Open(Cipher, sealedEnvelope, destination, "test");

        Assert.Equal(data, destination);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Both_raw_and_compressed_envelopes_round_trip_without_knowing_the_length(bool compressible)
    {
        var data = compressible ? TestData.Text(100_000) : TestData.RandomBytes(100_000);

        var opened = Envelope.Open(Cipher, Envelope.Seal(Cipher, data, compressionLevel: 3), "test");

        Assert.Equal(data, opened);
    }

    [Fact]
    public void An_empty_plaintext_round_trips()
    {
        var sealedEnvelope = Envelope.Seal(Cipher, [], compressionLevel: 3);

        Assert.Empty(Envelope.Open(Cipher, sealedEnvelope, "test"));
        Envelope.Open(Cipher, sealedEnvelope, Span<byte>.Empty, "test");
    }

    [Fact]
    public void The_span_overload_fits_in_max_sealed_length_for_any_input()
    {
        foreach (var data in new[] { TestData.RandomBytes(10_000), TestData.Text(10_000), new byte[0], new byte[1] })
        {
            var destination = new byte[Envelope.MaxSealedLength(data.Length)];
            int length = Envelope.Seal(Cipher, data, 3, destination);

            Assert.InRange(length, AuthenticatedCipher.Overhead + 1, destination.Length);
            Assert.Equal(data, Envelope.Open(Cipher, destination.AsSpan(0, length), "test"));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Any_flipped_bit_in_an_envelope_is_detected(bool compressible)
    {
        var data = compressible ? TestData.Text(200) : TestData.RandomBytes(200);
        var sealedEnvelope = Envelope.Seal(Cipher, data, compressionLevel: 3);

        for (int bit = 0; bit < sealedEnvelope.Length * 8; bit++)
        {
            var damaged = (byte[])sealedEnvelope.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));

            Assert.Throws<CorruptDataException>(() => Envelope.Open(Cipher, damaged, new byte[data.Length], "test"));
            Assert.Throws<CorruptDataException>(() => Envelope.Open(Cipher, damaged, "test"));
        }
    }

    [Theory]
    [InlineData(false, -1)]
    [InlineData(false, +1)]
    [InlineData(true, -1)]
    [InlineData(true, +1)]
    public void A_wrong_expected_length_is_reported_as_corrupt_data(bool compressible, int error)
    {
        var data = compressible ? TestData.Text(10_000) : TestData.RandomBytes(10_000);
        var sealedEnvelope = Envelope.Seal(Cipher, data, compressionLevel: 3);

        var e = Assert.Throws<CorruptDataException>(() =>
            Envelope.Open(Cipher, sealedEnvelope, new byte[data.Length + error], "blob 1234"));
        Assert.Contains("blob 1234", e.Message);
    }

    [Fact]
    public void An_envelope_sealed_with_another_key_is_rejected()
    {
        var sealedEnvelope = Envelope.Seal(MasterKey.Generate().Cipher, TestData.Text(1000), 3);

        Assert.Throws<CorruptDataException>(() => Envelope.Open(Cipher, sealedEnvelope, "test"));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 2, 1, 2, 3 })]
    [InlineData(new byte[] { 255 })]
    [InlineData(new byte[] { Envelope.Zstd, 1, 2, 3, 4, 5, 6, 7, 8 })]
    public void An_authentic_envelope_with_a_bad_body_is_reported_as_corrupt_data(byte[] body)
    {
        // Sealed with the right key, so only the body's structure can be at fault.
        var sealedEnvelope = Cipher.Seal(body);

        Assert.Throws<CorruptDataException>(() => Envelope.Open(Cipher, sealedEnvelope, "test"));
        Assert.Throws<CorruptDataException>(() => Envelope.Open(Cipher, sealedEnvelope, new byte[8], "test"));
    }
}
