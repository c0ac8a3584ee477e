using Strata.Repository;

namespace Strata.Images;

/// <summary>Whether a CBT bitmap can be trusted, why not, and the snapshot its contents count from (its receipt).</summary>
public sealed record CbtBitmapState(bool Usable, string? Reason, BlobId? CountsFrom);
