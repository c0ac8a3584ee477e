namespace Strata.Errors;

/// <summary>
/// Root of every error Strata raises on purpose. The CLI turns one of these into a single line on
/// stderr and <see cref="ExitCode"/>; anything else is a bug and is reported with its stack trace.
/// </summary>
public class StrataException : Exception
{
    public StrataException(string message, int exitCode = ExitCodes.Fatal, Exception? inner = null)
        : base(message, inner) => ExitCode = exitCode;

    public int ExitCode { get; }
}

/// <summary>Exit codes shared by every command (restic-compatible where restic defines one).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Fatal = 1;
    public const int PartialBackup = 3;
    public const int RepositoryNotFound = 10;
    public const int RepositoryLocked = 11;
    public const int WrongPassword = 12;
    public const int Interrupted = 130;
}

/// <summary>The user asked for something that cannot be done as asked (bad flag value, unknown snapshot).</summary>
public sealed class UsageException(string message) : StrataException(message, ExitCodes.Fatal);

/// <summary>No repository where one was expected.</summary>
public sealed class RepositoryNotFoundException(string location)
    : StrataException($"no repository at {location} (create one with 'strata init')", ExitCodes.RepositoryNotFound);

/// <summary>No key slot opens with the given password.</summary>
public sealed class WrongPasswordException()
    : StrataException("wrong password: no key in the repository opens with it", ExitCodes.WrongPassword);

/// <summary>Stored data failed authentication, a hash check or a structural check.</summary>
public sealed class CorruptDataException(string message) : StrataException(message, ExitCodes.Fatal);

/// <summary>The storage (disk, object store) failed; the repository stays consistent.</summary>
public class StorageException(string message, Exception? inner = null) : StrataException(message, ExitCodes.Fatal, inner);

/// <summary>Another process holds the repository for work that must not run twice at once (e.g. a second prune).</summary>
public sealed class RepositoryLockedException(string message) : StrataException(message, ExitCodes.RepositoryLocked);
