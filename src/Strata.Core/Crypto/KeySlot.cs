using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Strata.Errors;

namespace Strata.Crypto;

/// <summary>
/// One way into the repository: the master key sealed with a key derived from a password by
/// Argon2id. Several slots may exist (one per person or machine); removing one revokes that password.
/// Stored as plaintext JSON at <c>keys/&lt;sha256 of the file&gt;</c> (see docs/FORMAT.md).
/// </summary>
public sealed class KeySlot
{
    /// <summary>libsodium's "interactive" limits (crypto_pwhash_OPSLIMIT_INTERACTIVE, MEMLIMIT_INTERACTIVE).</summary>
    public const long DefaultOpsLimit = 2;
    public const long DefaultMemLimit = 64L << 20;

    [JsonPropertyName("version")] public int Version { get; set; } = 1;
    [JsonPropertyName("created")] public DateTimeOffset Created { get; set; }
    [JsonPropertyName("hostname")] public string Hostname { get; set; } = "";
    [JsonPropertyName("username")] public string Username { get; set; } = "";
    [JsonPropertyName("kdf")] public string Kdf { get; set; } = "argon2id";
    [JsonPropertyName("ops_limit")] public long OpsLimit { get; set; }
    [JsonPropertyName("mem_limit")] public long MemLimit { get; set; }
    [JsonPropertyName("salt")] public byte[] Salt { get; set; } = [];
    /// <summary>AES-256-GCM sealed (nonce|ciphertext|tag) of encryption key (32) || id key (32).</summary>
    [JsonPropertyName("wrapped_key")] public byte[] WrappedKey { get; set; } = [];

    public static KeySlot Create(MasterKey key, string password, long opsLimit = DefaultOpsLimit, long memLimit = DefaultMemLimit)
    {
        var slot = new KeySlot
        {
            Created = DateTimeOffset.UtcNow,
            Hostname = Environment.MachineName,
            Username = Environment.UserName,
            OpsLimit = opsLimit,
            MemLimit = memLimit,
            Salt = RandomNumberGenerator.GetBytes(16),
        };
        Span<byte> secret = stackalloc byte[MasterKey.KeySize * 2];
        key.EncryptionKey.CopyTo(secret);
        key.IdKey.CopyTo(secret[MasterKey.KeySize..]);
        slot.WrappedKey = slot.WrappingCipher(password).Seal(secret);
        CryptographicOperations.ZeroMemory(secret);
        return slot;
    }

    /// <summary>The master key, or null when the password does not open this slot.</summary>
    public MasterKey? TryOpen(string password)
    {
        if (Kdf != "argon2id") throw new CorruptDataException($"key slot uses unknown key derivation '{Kdf}'");
        if (Salt.Length != 16 || OpsLimit is < 1 or > uint.MaxValue || MemLimit is < 8192 or > (1L << 42))
            throw new CorruptDataException("key slot has invalid key-derivation parameters (damaged)");
        byte[] secret;
        try { secret = WrappingCipher(password).Open(WrappedKey, "key slot"); }
        catch (CorruptDataException) { return null; }
        if (secret.Length != MasterKey.KeySize * 2) throw new CorruptDataException("key slot holds a master key of the wrong size");
        return new MasterKey(secret[..MasterKey.KeySize], secret[MasterKey.KeySize..]);
    }

    private AuthenticatedCipher WrappingCipher(string password)
    {
        var wrappingKey = new byte[32];
        Argon2id.DeriveKey(Encoding.UTF8.GetBytes(password), Salt, OpsLimit, MemLimit, wrappingKey);
        return new AuthenticatedCipher(wrappingKey);
    }
}
