using Strata.Repository;

namespace Strata.Replication;

/// <summary>What a copy did: each snapshot copied (source id → new id) and those already in the target.</summary>
public sealed record CopyResult(
    IReadOnlyList<(BlobId Source, BlobId Target)> Copied,
    IReadOnlyList<BlobId> AlreadyPresent,
    bool Rechunked,
    long BytesRead,
    long BlobsAdded,
    long BytesAdded);
