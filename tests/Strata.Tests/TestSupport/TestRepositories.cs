using Strata.Repository;
using Strata.Storage;

namespace Strata.Tests.TestSupport;

/// <summary>Repositories on a local directory, created with a cheap key derivation so tests stay fast.</summary>
public static class TestRepositories
{
    public const string Password = "correct horse battery staple";

    /// <summary>Argon2id at its cheapest: the same code path as the defaults, a fraction of the cost.</summary>
    public static RepositoryInitOptions FastOptions(int packSize = 16 << 20, int compressionLevel = 3) => new()
    {
        KdfOpsLimit = 1,
        KdfMemLimit = 8 << 20,
        PackSize = packSize,
        CompressionLevel = compressionLevel,
    };

    public static Task<Strata.Repository.Repository> InitAsync(string directory, string password = Password, RepositoryInitOptions? options = null) =>
        Strata.Repository.Repository.InitAsync(new LocalDirectoryBackend(directory), password, options ?? FastOptions());

    public static Task<Strata.Repository.Repository> OpenAsync(string directory, string password = Password) =>
        Strata.Repository.Repository.OpenAsync(new LocalDirectoryBackend(directory), password);

    /// <summary>Opens the repository afresh (nothing cached) and loads its index, as a later run would.</summary>
    public static async Task<Strata.Repository.Repository> ReopenWithIndexAsync(string directory, string password = Password)
    {
        var repo = await OpenAsync(directory, password);
        await repo.LoadIndexAsync();
        return repo;
    }
}
