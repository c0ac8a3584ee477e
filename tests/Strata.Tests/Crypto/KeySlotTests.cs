using System.Text.Json;
using Strata.Crypto;
using Strata.Errors;
using Strata.Snapshots;

namespace Strata.Tests.Crypto;

public class KeySlotTests
{
    // The cheapest Argon2id parameters: same code path as the defaults, milliseconds instead of a fraction of a second.
    private const long Ops = 1;
    private const long Mem = 8 << 20;

    private static KeySlot CreateSlot(MasterKey key, string password) => KeySlot.Create(key, password, Ops, Mem);

    [Fact]
    public void A_slot_opens_with_its_password_and_yields_the_master_key()
    {
        var key = MasterKey.Generate();
        var slot = CreateSlot(key, "s3cret");

        var opened = slot.TryOpen("s3cret");

        Assert.NotNull(opened);
        Assert.Equal(key.EncryptionKey, opened.EncryptionKey);
        Assert.Equal(key.IdKey, opened.IdKey);
    }

    [Theory]
    [InlineData("S3cret")]
    [InlineData("s3cret ")]
    [InlineData("")]
    [InlineData("wrong")]
    public void A_wrong_password_does_not_open_the_slot(string password)
    {
        var slot = CreateSlot(MasterKey.Generate(), "s3cret");

        Assert.Null(slot.TryOpen(password));
    }

    [Fact]
    public void A_slot_records_its_kdf_parameters_and_a_fresh_salt()
    {
        var key = MasterKey.Generate();

        var a = CreateSlot(key, "pw");
        var b = CreateSlot(key, "pw");

        Assert.Equal("argon2id", a.Kdf);
        Assert.Equal(Ops, a.OpsLimit);
        Assert.Equal(Mem, a.MemLimit);
        Assert.Equal(16, a.Salt.Length);
        Assert.NotEqual(a.Salt, b.Salt);
        Assert.NotEqual(a.WrappedKey, b.WrappedKey);
    }

    [Fact]
    public void The_wrapped_key_does_not_contain_the_master_key_in_the_clear()
    {
        var key = MasterKey.Generate();
        var slot = CreateSlot(key, "pw");

        Assert.Equal(AuthenticatedCipher.SealedLength(2 * MasterKey.KeySize), slot.WrappedKey.Length);
        Assert.DoesNotContain(Convert.ToHexString(key.EncryptionKey), Convert.ToHexString(slot.WrappedKey));
        Assert.DoesNotContain(Convert.ToHexString(key.IdKey), Convert.ToHexString(slot.WrappedKey));
    }

    [Fact]
    public void A_slot_survives_its_json_form_and_still_opens()
    {
        var key = MasterKey.Generate();
        var json = JsonSerializer.SerializeToUtf8Bytes(CreateSlot(key, "pw"), StrataJson.Default.KeySlot);

        var slot = JsonSerializer.Deserialize(json, StrataJson.Default.KeySlot)!;

        Assert.Equal(key.IdKey, slot.TryOpen("pw")!.IdKey);
    }

    [Fact]
    public void A_damaged_wrapped_key_opens_with_no_password()
    {
        var slot = CreateSlot(MasterKey.Generate(), "pw");
        slot.WrappedKey[20] ^= 0x01;

        Assert.Null(slot.TryOpen("pw"));
    }

    [Fact]
    public void A_slot_with_an_unknown_kdf_is_reported_as_corrupt()
    {
        var slot = CreateSlot(MasterKey.Generate(), "pw");
        slot.Kdf = "scrypt";

        var e = Assert.Throws<CorruptDataException>(() => slot.TryOpen("pw"));
        Assert.Contains("scrypt", e.Message);
    }

    [Fact]
    public void Passwords_are_compared_as_utf8_so_non_ascii_passwords_work()
    {
        var key = MasterKey.Generate();
        var slot = CreateSlot(key, "pässwörd-密码");

        Assert.NotNull(slot.TryOpen("pässwörd-密码"));
        Assert.Null(slot.TryOpen("passwort-密码"));
    }
}
