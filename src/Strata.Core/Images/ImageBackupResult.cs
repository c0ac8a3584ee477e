using Strata.Snapshots;

namespace Strata.Images;

public sealed record ImageBackupResult(Snapshot Snapshot, long BytesTotal, long BytesRead, long BytesChanged, long DataAdded, bool FullRead, TimeSpan Duration, IReadOnlyList<string> Notes);
