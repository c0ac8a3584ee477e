using System.Text;
using Strata.Crypto;
using Strata.Errors;

namespace Strata.Tests.Crypto;

public class Argon2idTests
{
    // Small costs keep the tests fast; the algorithm is the same at any cost.
    private const long Ops = 2;
    private const long Mem = 1 << 20;

    private static readonly byte[] Salt = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();

    private static byte[] Derive(string password, byte[] salt, long ops = Ops, long mem = Mem, int keyLength = 32)
    {
        var key = new byte[keyLength];
        Argon2id.DeriveKey(Encoding.UTF8.GetBytes(password), salt, ops, mem, key);
        return key;
    }

    /// <summary>
    /// Known answers from libsodium's own test suite (test/default/pwhash_argon2id.c, vectors
    /// tv[4] and tv[6], with pwhash_argon2id.exp): proves the binding passes the right algorithm,
    /// units and lengths.
    /// </summary>
    [Theory]
    [InlineData(
        "4a857e2ee8aa9b6056f2424e84d24a72473378906ee04a46cb05311502d5250b82ad86b83c8f20a23dbb74f6da60b0b6ecffd67134d45946ac8ebfb3064294bc097d43ced68642bfb8bbbdd0f50b30118f5e",
        "39d82eef32010b8b79cc5ba88ed539fb", 190, 3, 1432947,
        "08d8cd330c57e1b4643241d05bb468ba4ee4e932cd0858816be9ef15360b27bbd06a87130ee92222be267a29b81f5ae8"
        + "fe8613324cfc4832dc49387fd0602f1c57b4d0f3855db94fb7e12eb05f9a484aed4a4307abf586cd3d55c809bc081541"
        + "e00b682772fb2066504ff935b8ebc551a2083882f874bc0fae68e56848ae34c91097c3bf0cca8e75c0797eef3efde3f7"
        + "5e005815018db3cf7c109a812264c4de69dcb22322dbbcfa447f5b00ecd1b04a7be1569c8e556adb7bba48adf81d")]
    [InlineData(
        "b540beb016a5366524d4605156493f9874514a5aa58818cd0c6dfffaa9e90205f17b",
        "44071f6d181561670bda728d43fb79b4", 231, 1, 1631659,
        "7fb72409b0987f8190c3729710e98c3f80c5a8727d425fdcde7f3644d467fe973f5b5fee683bd3fce812cb9ae5e9921a"
        + "2d06c2f1905e4e839692f2b934b682f11a2fe2b90482ea5dd234863516dba6f52dc0702d324ec77d860c2e181f84472b"
        + "d7104fedce071ffa93c5309494ad51623d214447a7b2b1462dc7d5d55a1f6fd5b54ce024118d86f0c6489d16545aaa87"
        + "b6689dad9f2fb47fda9894f8e12b87d978b483ccd4cc5fd9595cdc7a818452f915ce2f7df95ec12b1c72e3788d473441"
        + "d884f9748eb14703c21b45d82fd667b85f5b2d98c13303b3fe76285531a826b6fc0fe8e3dddecf")]
    public void Matches_libsodium_test_vectors(string passwordHex, string saltHex, int keyLength, long ops, long mem, string expectedHex)
    {
        var key = new byte[keyLength];
        Argon2id.DeriveKey(Convert.FromHexString(passwordHex), Convert.FromHexString(saltHex), ops, mem, key);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(key));
    }

    [Fact]
    public void Same_inputs_give_the_same_key()
    {
        Assert.Equal(Derive("correct horse", Salt), Derive("correct horse", Salt));
    }

    [Fact]
    public void Key_depends_on_password_salt_and_costs()
    {
        var reference = Derive("correct horse", Salt);
        var otherSalt = (byte[])Salt.Clone();
        otherSalt[15] ^= 1;

        Assert.NotEqual(reference, Derive("correct horsE", Salt));
        Assert.NotEqual(reference, Derive("", Salt));
        Assert.NotEqual(reference, Derive("correct horse", otherSalt));
        Assert.NotEqual(reference, Derive("correct horse", Salt, ops: Ops + 1));
        Assert.NotEqual(reference, Derive("correct horse", Salt, mem: Mem * 2));
    }

    [Fact]
    public void Parameters_outside_the_limits_are_refused()
    {
        Assert.ThrowsAny<ArgumentException>(() => Derive("pw", new byte[15]));
        Assert.ThrowsAny<ArgumentException>(() => Derive("pw", new byte[17]));
        Assert.ThrowsAny<ArgumentException>(() => Derive("pw", Salt, ops: 0));
        Assert.ThrowsAny<ArgumentException>(() => Derive("pw", Salt, ops: -1));
        Assert.ThrowsAny<ArgumentException>(() => Derive("pw", Salt, mem: 8191));
        Assert.ThrowsAny<ArgumentException>(() => Derive("pw", Salt, keyLength: 15));
        // The smallest accepted values work.
        Assert.Equal(16, Derive("pw", Salt, ops: 1, mem: 8192, keyLength: 16).Length);
    }

    [Fact]
    public void Memory_that_cannot_be_allocated_is_a_StrataException()
    {
        // With overcommit "always" (mode 1) the allocation would succeed and the process would be
        // killed while filling it, so only run where the kernel refuses impossible allocations.
        const string overcommit = "/proc/sys/vm/overcommit_memory";
        if (!File.Exists(overcommit) || File.ReadAllText(overcommit).Trim() == "1") return;

        var error = Assert.Throws<StrataException>(() => Derive("pw", Salt, ops: 1, mem: Argon2id.MaxMemLimit));
        Assert.Contains("memory", error.Message);
    }
}
