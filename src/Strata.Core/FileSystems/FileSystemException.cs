using Strata.Errors;

namespace Strata.FileSystems;

/// <summary>A file system or partition table inside an image is damaged or not what it claims to be.</summary>
public sealed class CorruptFileSystemException(string message) : StrataException(message, ExitCodes.Fatal);

/// <summary>The image holds something valid that this reader does not understand (a feature, a partition scheme).</summary>
public sealed class UnsupportedFileSystemException(string message) : StrataException(message, ExitCodes.Fatal);
