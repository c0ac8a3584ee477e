using System.Runtime.InteropServices;

namespace Strata.Native;

/// <summary>
/// Raw entry points of libsodium that Strata uses (only the Argon2id password hash: .NET has
/// no Argon2 of its own). Call <see cref="NativeLibraries.EnsureSodium"/> and then
/// <see cref="sodium_init"/> before the first use.
/// </summary>
internal static unsafe class LibSodium
{
    /// <summary>crypto_pwhash_ALG_ARGON2ID13: Argon2id, version 1.3 (0x13).</summary>
    public const int AlgArgon2id13 = 2;

    /// <summary>Returns 0 on success, 1 if already initialised, -1 on failure. Thread-safe.</summary>
    [DllImport(NativeLibraries.Sodium, ExactSpelling = true)]
    public static extern int sodium_init();

    /// <summary>
    /// Returns 0 on success, -1 on invalid parameters or when the memory cannot be allocated
    /// (errno is then ENOMEM, hence SetLastError).
    /// </summary>
    [DllImport(NativeLibraries.Sodium, ExactSpelling = true, SetLastError = true)]
    public static extern int crypto_pwhash(
        byte* output, ulong outputLength,
        byte* password, ulong passwordLength,
        byte* salt,
        ulong opsLimit, nuint memLimit, int algorithm);
}
