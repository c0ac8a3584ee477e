using Strata.Errors;

namespace Strata.Nbd;

/// <summary>
/// The NBD peer refused a request, broke the protocol or went away. The connection is not reused
/// after one of these (Npgsql's rule: a broken connection is marked broken, never retried blindly).
/// </summary>
public sealed class NbdException(string message, Exception? inner = null) : StrataException(message, ExitCodes.Fatal, inner);
