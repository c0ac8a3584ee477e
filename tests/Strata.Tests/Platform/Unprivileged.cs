using System.Runtime.InteropServices;

namespace Strata.Tests.Platform;

/// <summary>
/// Runs code with an unprivileged file-system identity so permission errors can be tested even when
/// the tests run as root (root would bypass every permission check). setfsuid changes only the calling
/// thread and drops the file-system capabilities with it, so the code runs on a thread of its own.
/// </summary>
internal static class Unprivileged
{
    private const uint Nobody = 65534;

    [DllImport("libc")] private static extern uint setfsuid(uint fsuid);
    [DllImport("libc")] private static extern uint setfsgid(uint fsgid);
    [DllImport("libc")] private static extern uint geteuid();

    /// <summary>Runs <paramref name="action"/> as user nobody; false if the identity could not be changed.</summary>
    public static bool TryRun(Action action)
    {
        if (geteuid() != 0)
        {
            action();
            return true;
        }

        bool switched = false;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            uint oldGid = setfsgid(Nobody);
            uint oldUid = setfsuid(Nobody);
            try
            {
                // setfsuid reports failure only by returning the unchanged id; -1 just queries it.
                switched = setfsuid(uint.MaxValue) == Nobody;
                if (switched)
                    action();
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                setfsuid(oldUid);
                setfsgid(oldGid);
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return switched;
    }
}
