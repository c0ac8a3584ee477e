namespace Strata.Export;

/// <summary>The archive formats <c>strata dump</c> writes.</summary>
public enum ArchiveFormat
{
    /// <summary>POSIX pax (ustar with extended headers): owners, modes, ns-ish times, links, devices, xattrs.</summary>
    Tar,

    /// <summary>Zip (deflate) with Unix modes in the external attributes; no owners, devices or hard links.</summary>
    Zip,
}
