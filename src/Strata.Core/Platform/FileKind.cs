namespace Strata.Platform;

/// <summary>The file types Linux knows (the <c>S_IFMT</c> bits of <c>st_mode</c>).</summary>
public enum FileKind
{
    Regular,
    Directory,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}
