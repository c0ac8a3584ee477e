using System.Runtime.InteropServices;
using Strata.Errors;

namespace Strata.Native;

/// <summary>
/// Loads the system libraries Strata binds to and turns a missing one into a message that says
/// which Debian package to install. Without this check the first call into a missing library
/// fails deep inside a backup with a bare <see cref="DllNotFoundException"/>.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>zstd 1.5 (Debian package libzstd1).</summary>
    public const string Zstd = "libzstd.so.1";

    /// <summary>libsodium 1.0.18 or later (Debian package libsodium23).</summary>
    public const string Sodium = "libsodium.so.23";

    private static volatile bool s_zstdLoaded;
    private static volatile bool s_sodiumLoaded;

    /// <summary>Throws <see cref="StrataException"/> unless libzstd can be loaded. Cheap after the first call.</summary>
    public static void EnsureZstd()
    {
        if (s_zstdLoaded) return;
        Require(Zstd, "libzstd1");
        s_zstdLoaded = true;
    }

    /// <summary>Throws <see cref="StrataException"/> unless libsodium can be loaded. Cheap after the first call.</summary>
    public static void EnsureSodium()
    {
        if (s_sodiumLoaded) return;
        Require(Sodium, "libsodium23");
        s_sodiumLoaded = true;
    }

    /// <summary>Loads <paramref name="fileName"/> or throws a <see cref="StrataException"/> naming the package that provides it.</summary>
    internal static void Require(string fileName, string debianPackage)
    {
        // Same search the runtime uses for [DllImport(fileName)], so once this succeeds the imports
        // bind to the library just loaded (dlopen hands back the same handle for the same name).
        if (!NativeLibrary.TryLoad(fileName, typeof(NativeLibraries).Assembly, searchPath: null, out _))
            throw new StrataException($"{fileName} not found: install the Debian package {debianPackage}");
    }
}
