using System.Runtime.InteropServices;
using Strata.Errors;
using Strata.Native;

namespace Strata.Crypto;

/// <summary>
/// Password-based key derivation with Argon2id v1.3 (RFC 9106), computed by libsodium's
/// <c>crypto_pwhash</c>: one lane, no secret, no associated data; <c>memLimitBytes</c> is
/// rounded down to whole KiB. Memory-hard, so guessing passwords on GPUs stays expensive.
/// </summary>
public static unsafe class Argon2id
{
    /// <summary>crypto_pwhash_argon2id_SALTBYTES.</summary>
    public const int SaltSize = 16;

    /// <summary>crypto_pwhash_argon2id_BYTES_MIN: shorter keys are refused by libsodium.</summary>
    public const int MinKeySize = 16;

    /// <summary>crypto_pwhash_argon2id_OPSLIMIT_MIN and _MAX (passes over memory).</summary>
    public const long MinOpsLimit = 1, MaxOpsLimit = uint.MaxValue;

    /// <summary>crypto_pwhash_argon2id_MEMLIMIT_MIN (8 KiB) and _MAX on 64-bit (4 TiB - 1 KiB).</summary>
    public const long MinMemLimit = 8192, MaxMemLimit = 4398046510080;

    private const int ENOMEM = 12;

    private static volatile bool s_initialised;

    /// <summary>
    /// Fills <paramref name="key"/> (at least 16 bytes) with the Argon2id hash of
    /// <paramref name="password"/> and <paramref name="salt"/> (16 bytes), making
    /// <paramref name="opsLimit"/> passes over <paramref name="memLimitBytes"/> bytes of memory.
    /// Throws <see cref="ArgumentException"/> for parameters outside Argon2id's limits and
    /// <see cref="StrataException"/> when the memory cannot be allocated.
    /// </summary>
    public static void DeriveKey(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, long opsLimit, long memLimitBytes, Span<byte> key)
    {
        if (salt.Length != SaltSize)
            throw new ArgumentException($"Argon2id salt must be {SaltSize} bytes, got {salt.Length}", nameof(salt));
        if (key.Length < MinKeySize)
            throw new ArgumentException($"Argon2id key must be at least {MinKeySize} bytes, got {key.Length}", nameof(key));
        if (opsLimit < MinOpsLimit || opsLimit > MaxOpsLimit)
            throw new ArgumentOutOfRangeException(nameof(opsLimit), opsLimit, $"Argon2id ops limit must be between {MinOpsLimit} and {MaxOpsLimit}");
        if (memLimitBytes < MinMemLimit || memLimitBytes > MaxMemLimit)
            throw new ArgumentOutOfRangeException(nameof(memLimitBytes), memLimitBytes, $"Argon2id memory limit must be between {MinMemLimit} and {MaxMemLimit} bytes");

        EnsureInitialised();
        int result;
        fixed (byte* keyPointer = key)
        fixed (byte* passwordPointer = password)
        fixed (byte* saltPointer = salt)
        {
            result = LibSodium.crypto_pwhash(
                keyPointer, (ulong)key.Length,
                passwordPointer, (ulong)password.Length,
                saltPointer,
                (ulong)opsLimit, (nuint)memLimitBytes, LibSodium.AlgArgon2id13);
        }
        if (result != 0)
        {
            // Every parameter was checked above, so a failure here is (almost surely) the allocation.
            string reason = Marshal.GetLastPInvokeError() == ENOMEM
                ? $"not enough memory for its {memLimitBytes >> 20} MiB memory limit"
                : "libsodium reported an error";
            throw new StrataException($"Argon2id key derivation failed: {reason}");
        }
    }

    private static void EnsureInitialised()
    {
        if (s_initialised) return;
        NativeLibraries.EnsureSodium();
        // sodium_init is thread-safe and idempotent, so racing callers at worst call it twice.
        if (LibSodium.sodium_init() < 0) throw new StrataException("libsodium failed to initialise (sodium_init)");
        s_initialised = true;
    }
}
