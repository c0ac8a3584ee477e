namespace Strata.Repository;

/// <summary>One blob inside a pack: where its sealed bytes start, how long they are, how long the plaintext is.</summary>
public readonly record struct PackEntry(BlobType Type, BlobId Id, uint Offset, uint Length, uint RawLength);
