namespace Strata.FileSystems;

/// <summary>
/// One partition of a disk: its number as Linux counts them (MBR: 1-4 primary, 5 and up logical;
/// GPT: the entry's index + 1), where it lies in bytes, and its type (an MBR type byte such as
/// "0x83", or a GPT type GUID) and GPT name.
/// </summary>
public sealed record Partition(int Number, long Start, long Length, string Type, string Name)
{
    public const string LinuxGptType = "0fc63daf-8483-4772-8e79-3d69d8477de4";
}
