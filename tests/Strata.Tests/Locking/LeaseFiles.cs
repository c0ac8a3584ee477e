using System.Security.Cryptography;
using System.Text.Json;
using Strata.Locking;
using Strata.Repository;
using Strata.Snapshots;

namespace Strata.Tests.Locking;

/// <summary>Writes leases as another process (or another host) would have left them.</summary>
public static class LeaseFiles
{
    public static async Task<string> WriteAsync(Strata.Repository.Repository repo, Lease lease)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var stored = Envelope.Seal(repo.Key.Cipher, JsonSerializer.SerializeToUtf8Bytes(lease, StrataJson.Default.Lease), 0);
        await repo.Backend.PutAsync(Layout.LocksFolder + id, stored);
        return id;
    }
}
