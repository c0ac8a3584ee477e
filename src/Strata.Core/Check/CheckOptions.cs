namespace Strata.Check;

public sealed record CheckOptions
{
    /// <summary>Read every pack, decrypt every blob and re-hash it.</summary>
    public bool ReadData { get; init; }
}
