using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>
/// An NBD server run through the CLI ('strata serve nbd', 'strata image restore --live') on a
/// loopback port: pick a free port, wait until the server listens, stop it as Ctrl-C would.
/// </summary>
public static class CliNbdServer
{
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Returns once a TCP connection to <paramref name="port"/> succeeds; fails the test if the server exits first.</summary>
    public static void WaitUntilListening(CliProcess server, int port)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (server.HasExited) throw new Xunit.Sdk.XunitException("the NBD server exited: " + server.WaitAsync(TimeSpan.FromSeconds(5)).Result.Describe());
            using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try { probe.Connect(IPAddress.Loopback, port); return; }
            catch (SocketException) { }
            // Generous: the .NET CLI starts slowly on a loaded 2-core machine.
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the NBD server did not start listening");
            Thread.Sleep(50);
        }
    }

    /// <summary>SIGTERM, the way a service manager (or Ctrl-C) ends the server.</summary>
    public static void Terminate(CliProcess process) => CliWorkspace.RunTool("kill", "-TERM", process.Id.ToString());
}
