using Strata.Errors;

namespace Strata.Images.Qmp;

/// <summary>QEMU refused a QMP command: its error class (GenericError, DeviceNotFound, …) and description.</summary>
public sealed class QmpException(string command, string errorClass, string description)
    : StrataException($"QEMU refused {command}: {description}")
{
    public string Command { get; } = command;
    public string ErrorClass { get; } = errorClass;
    public string Description { get; } = description;
}

/// <summary>
/// The QMP monitor cannot be reached or stopped answering: no socket, nothing listening, not QMP,
/// no greeting, or the connection closed (QEMU exited). Nothing is known about what QEMU did with
/// a command that was in flight.
/// </summary>
public sealed class QmpConnectionException(string message, Exception? inner = null) : StrataException(message, ExitCodes.Fatal, inner);
