namespace Strata.Images.Qmp;

/// <summary>
/// A dirty bitmap of a block node as QEMU reports it. Recording = enabled; busy = an export or job
/// uses it (it cannot be changed); inconsistent = its persistent copy was not saved cleanly (QEMU
/// stopped abruptly), so only removal is allowed.
/// </summary>
public sealed record QmpDirtyBitmap(string Name, bool Recording, bool Busy, bool Persistent, bool Inconsistent, long Count);
