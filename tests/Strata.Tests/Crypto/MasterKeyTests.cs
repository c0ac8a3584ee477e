using System.Security.Cryptography;
using Strata.Crypto;
using Strata.Repository;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Crypto;

public class MasterKeyTests
{
    [Fact]
    public void The_same_data_always_gets_the_same_blob_id_under_one_key()
    {
        var key = MasterKey.Generate();
        var data = TestData.RandomBytes(5000);

        Assert.Equal(key.ComputeBlobId(data), key.ComputeBlobId((byte[])data.Clone()));
    }

    [Fact]
    public void Blob_ids_are_keyed_so_two_repositories_give_the_same_data_different_ids()
    {
        var data = TestData.Text(5000);

        Assert.NotEqual(MasterKey.Generate().ComputeBlobId(data), MasterKey.Generate().ComputeBlobId(data));
    }

    [Fact]
    public void A_blob_id_is_the_hmac_sha256_of_the_plaintext_under_the_id_key()
    {
        var key = MasterKey.Generate();
        var data = TestData.Text(1234);

        Assert.Equal(new BlobId(HMACSHA256.HashData(key.IdKey, data)), key.ComputeBlobId(data));
        Assert.NotEqual(new BlobId(SHA256.HashData(data)), key.ComputeBlobId(data));
    }

    [Fact]
    public void Different_data_gets_different_blob_ids()
    {
        var key = MasterKey.Generate();
        var a = TestData.RandomBytes(100, seed: 1);
        var b = (byte[])a.Clone();
        b[99] ^= 1;

        Assert.NotEqual(key.ComputeBlobId(a), key.ComputeBlobId(b));
    }

    [Fact]
    public void The_id_key_and_the_encryption_key_are_independent_random_keys()
    {
        var key = MasterKey.Generate();
        var other = MasterKey.Generate();

        Assert.Equal(MasterKey.KeySize, key.EncryptionKey.Length);
        Assert.Equal(MasterKey.KeySize, key.IdKey.Length);
        Assert.NotEqual(key.EncryptionKey, key.IdKey);
        Assert.NotEqual(key.EncryptionKey, other.EncryptionKey);
    }

    [Fact]
    public void The_cipher_uses_the_encryption_key()
    {
        var key = MasterKey.Generate();
        var copy = new MasterKey((byte[])key.EncryptionKey.Clone(), (byte[])key.IdKey.Clone());
        var data = TestData.Text(100);

        Assert.Equal(data, copy.Cipher.Open(key.Cipher.Seal(data), "test"));
    }

    [Theory]
    [InlineData(31, 32)]
    [InlineData(32, 16)]
    [InlineData(0, 0)]
    public void Key_parts_of_the_wrong_size_are_refused(int encryptionKeyLength, int idKeyLength)
    {
        Assert.Throws<ArgumentException>(() => new MasterKey(new byte[encryptionKeyLength], new byte[idKeyLength]));
    }
}
