using System.Security.Cryptography;
using Strata.Crypto;
using Strata.Errors;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Crypto;

public class AuthenticatedCipherTests
{
    private static readonly AuthenticatedCipher Cipher = new(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void A_sealed_message_opens_to_the_original_plaintext()
    {
        var plaintext = TestData.RandomBytes(1000);

        var sealedMessage = Cipher.Seal(plaintext);

        Assert.Equal(plaintext, Cipher.Open(sealedMessage, "test"));
    }

    [Fact]
    public void A_sealed_message_is_the_plaintext_plus_nonce_and_tag()
    {
        var sealedMessage = Cipher.Seal(new byte[100]);

        Assert.Equal(100 + AuthenticatedCipher.NonceSize + AuthenticatedCipher.TagSize, sealedMessage.Length);
        Assert.Equal(sealedMessage.Length, AuthenticatedCipher.SealedLength(100));
    }

    [Fact]
    public void An_empty_plaintext_round_trips()
    {
        var sealedMessage = Cipher.Seal(ReadOnlySpan<byte>.Empty);

        Assert.Equal(AuthenticatedCipher.Overhead, sealedMessage.Length);
        Assert.Empty(Cipher.Open(sealedMessage, "test"));
    }

    [Fact]
    public void The_span_overloads_seal_and_open_in_place_buffers()
    {
        var plaintext = TestData.Text(300);
        var sealedBuffer = new byte[AuthenticatedCipher.SealedLength(plaintext.Length) + 10];
        int sealedLength = Cipher.Seal(plaintext, sealedBuffer);
        var opened = new byte[plaintext.Length + 10];

        int openedLength = Cipher.Open(sealedBuffer.AsSpan(0, sealedLength), opened, "test");

        Assert.Equal(plaintext.Length, openedLength);
        Assert.Equal(plaintext, opened[..openedLength]);
    }

    [Fact]
    public void Ciphertext_does_not_contain_the_plaintext()
    {
        var plaintext = TestData.Text(200);

        var sealedMessage = Cipher.Seal(plaintext);

        Assert.NotEqual(plaintext, sealedMessage.AsSpan(AuthenticatedCipher.NonceSize, plaintext.Length).ToArray());
    }

    [Fact]
    public void Any_flipped_bit_in_a_sealed_message_is_detected()
    {
        var sealedMessage = Cipher.Seal(TestData.RandomBytes(100 - AuthenticatedCipher.Overhead));
        Assert.Equal(100, sealedMessage.Length);

        for (int bit = 0; bit < sealedMessage.Length * 8; bit++)
        {
            var damaged = (byte[])sealedMessage.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));

            var e = Assert.Throws<CorruptDataException>(() => Cipher.Open(damaged, "blob x"));
            Assert.Contains("blob x", e.Message);
        }
    }

    [Fact]
    public void A_truncated_sealed_message_is_detected_at_every_length()
    {
        var sealedMessage = Cipher.Seal(TestData.RandomBytes(60));

        for (int length = 0; length < sealedMessage.Length; length++)
            Assert.Throws<CorruptDataException>(() => Cipher.Open(sealedMessage.AsSpan(0, length), "test"));
    }

    [Fact]
    public void A_message_sealed_with_another_key_is_rejected()
    {
        var other = new AuthenticatedCipher(RandomNumberGenerator.GetBytes(32));

        var sealedMessage = other.Seal(TestData.RandomBytes(64));

        Assert.Throws<CorruptDataException>(() => Cipher.Open(sealedMessage, "test"));
    }

    [Fact]
    public void Sealing_the_same_plaintext_twice_uses_a_different_nonce_each_time()
    {
        var plaintext = TestData.Text(64);
        var nonces = new HashSet<string>();
        var ciphertexts = new HashSet<string>();

        for (int i = 0; i < 100; i++)
        {
            var sealedMessage = Cipher.Seal(plaintext);
            nonces.Add(Convert.ToHexString(sealedMessage, 0, AuthenticatedCipher.NonceSize));
            ciphertexts.Add(Convert.ToHexString(sealedMessage, AuthenticatedCipher.NonceSize, sealedMessage.Length - AuthenticatedCipher.NonceSize));
        }

        Assert.Equal(100, nonces.Count);
        Assert.Equal(100, ciphertexts.Count);
    }

    [Fact]
    public void A_destination_too_small_for_sealing_is_refused()
    {
        var destination = new byte[AuthenticatedCipher.SealedLength(10) - 1];

        Assert.Throws<ArgumentException>(() => Cipher.Seal(new byte[10], destination));
    }

    [Fact]
    public void One_cipher_can_be_used_from_many_threads_at_once()
    {
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var plaintext = TestData.RandomBytes(1000 + i, seed: i);
            for (int round = 0; round < 20; round++)
                Assert.Equal(plaintext, Cipher.Open(Cipher.Seal(plaintext), "test"));
        });
    }
}
