namespace Strata.Check;

public sealed record CheckOptions
{
    /// <summary>Read every pack, decrypt every blob and re-hash it.</summary>
    public bool ReadData { get; init; }
    /// <summary>Read only this part of the packs (implies reading data); null reads all of them.</summary>
    public ReadDataSubset? Subset { get; init; }
}
