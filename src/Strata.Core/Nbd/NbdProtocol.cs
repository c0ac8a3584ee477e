namespace Strata.Nbd;

/// <summary>
/// Wire constants of the NBD protocol (fixed newstyle negotiation, transmission phase, structured
/// replies), as in the protocol document of the NBD project (doc/proto.md). Every integer on the
/// wire is big-endian. Shared by the client and a future server.
/// </summary>
public static class NbdProtocol
{
    // ---- handshake -------------------------------------------------------------------------
    public const ulong InitMagic = 0x4e42444d41474943;      // "NBDMAGIC"
    public const ulong OptionMagic = 0x49484156454F5054;    // "IHAVEOPT"
    public const ulong OptionReplyMagic = 0x0003e889045565a9;

    public const ushort HandshakeFixedNewstyle = 1 << 0;
    public const ushort HandshakeNoZeroes = 1 << 1;
    public const uint ClientFixedNewstyle = 1 << 0;
    public const uint ClientNoZeroes = 1 << 1;

    /// <summary>Longest option payload a client sends or accepts (the spec's suggested limit for strings is 4096).</summary>
    public const int MaxOptionReplyLength = 64 << 10;

    // ---- transmission ----------------------------------------------------------------------
    public const uint RequestMagic = 0x25609513;
    public const uint SimpleReplyMagic = 0x67446698;
    public const uint StructuredReplyMagic = 0x668e33ef;

    /// <summary>Size of a request header: magic, flags, type, cookie, offset, length.</summary>
    public const int RequestHeaderSize = 28;
    public const int SimpleReplyHeaderSize = 16;
    public const int StructuredReplyHeaderSize = 20;

    /// <summary>qemu-nbd's (and the spec's suggested) largest read or write payload: 32 MiB.</summary>
    public const int MaxPayload = 32 << 20;
}

/// <summary>Options a client sends during negotiation (NBD_OPT_*).</summary>
public enum NbdOption : uint
{
    ExportName = 1,
    Abort = 2,
    List = 3,
    StartTls = 5,
    Info = 6,
    Go = 7,
    StructuredReply = 8,
    ListMetaContext = 9,
    SetMetaContext = 10,
}

/// <summary>Option reply types (NBD_REP_*); values with bit 31 set are errors.</summary>
public enum NbdOptionReply : uint
{
    Ack = 1,
    Server = 2,
    Info = 3,
    MetaContext = 4,
    ErrorUnsupported = 0x80000001,
    ErrorPolicy = 0x80000002,
    ErrorInvalid = 0x80000003,
    ErrorPlatform = 0x80000004,
    ErrorTlsRequired = 0x80000005,
    ErrorUnknown = 0x80000006,
    ErrorShutdown = 0x80000007,
    ErrorBlockSizeRequired = 0x80000008,
    ErrorTooBig = 0x80000009,
}

/// <summary>Information items in NBD_REP_INFO replies to NBD_OPT_INFO / NBD_OPT_GO (NBD_INFO_*).</summary>
public enum NbdInfo : ushort
{
    Export = 0,
    Name = 1,
    Description = 2,
    BlockSize = 3,
}

/// <summary>Transmission flags the server announces for an export (NBD_FLAG_*).</summary>
[Flags]
public enum NbdTransmissionFlags : ushort
{
    None = 0,
    HasFlags = 1 << 0,
    ReadOnly = 1 << 1,
    SendFlush = 1 << 2,
    SendFua = 1 << 3,
    Rotational = 1 << 4,
    SendTrim = 1 << 5,
    SendWriteZeroes = 1 << 6,
    SendDf = 1 << 7,
    CanMultiConn = 1 << 8,
    SendResize = 1 << 9,
    SendCache = 1 << 10,
    SendFastZero = 1 << 11,
}

/// <summary>Request types of the transmission phase (NBD_CMD_*).</summary>
public enum NbdCommand : ushort
{
    Read = 0,
    Write = 1,
    Disconnect = 2,
    Flush = 3,
    Trim = 4,
    Cache = 5,
    WriteZeroes = 6,
    BlockStatus = 7,
    Resize = 8,
}

/// <summary>Per-request flags (NBD_CMD_FLAG_*).</summary>
[Flags]
public enum NbdCommandFlags : ushort
{
    None = 0,
    Fua = 1 << 0,
    NoHole = 1 << 1,
    DontFragment = 1 << 2,
    RequestOne = 1 << 3,
    FastZero = 1 << 4,
}

/// <summary>Structured reply chunk types (NBD_REPLY_TYPE_*).</summary>
public enum NbdReplyType : ushort
{
    None = 0,
    OffsetData = 1,
    OffsetHole = 2,
    BlockStatus = 5,
    Error = 0x8001,
    ErrorOffset = 0x8002,
}

/// <summary>Flag on a structured reply chunk: the last chunk of its request.</summary>
public static class NbdReplyFlags
{
    public const ushort Done = 1;
}

/// <summary>Meta contexts Strata uses and the meaning of their status flags.</summary>
public static class NbdMetaContexts
{
    public const string BaseAllocation = "base:allocation";
    public const string QemuDirtyBitmapPrefix = "qemu:dirty-bitmap:";

    /// <summary>base:allocation: the extent is not allocated (reads may still return data from a backing file; with Zero, zeros).</summary>
    public const uint StateHole = 1;
    /// <summary>base:allocation: the extent reads as zeros.</summary>
    public const uint StateZero = 2;
    /// <summary>qemu:dirty-bitmap:NAME: the extent was written since the bitmap was started or cleared.</summary>
    public const uint StateDirty = 1;
}

/// <summary>errno values carried in NBD error replies.</summary>
public static class NbdErrors
{
    public static string Describe(uint error) => error switch
    {
        1 => "EPERM (operation not permitted)",
        5 => "EIO (input/output error)",
        12 => "ENOMEM (out of memory)",
        22 => "EINVAL (invalid argument)",
        28 => "ENOSPC (no space left)",
        75 => "EOVERFLOW (value too large)",
        95 => "ENOTSUP (not supported)",
        108 => "ESHUTDOWN (server is shutting down)",
        _ => $"error {error}",
    };
}
