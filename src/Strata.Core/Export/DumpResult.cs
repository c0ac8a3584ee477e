namespace Strata.Export;

public sealed record DumpResult(long Entries, long Files, long Bytes, long BytesFetched, IReadOnlyList<string> Skipped);
