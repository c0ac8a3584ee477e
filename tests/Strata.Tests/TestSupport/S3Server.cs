using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Strata.Tests.TestSupport;

/// <summary>
/// A real S3 protocol server (s3rver, installed by ./test.sh into .tools/s3rver) on a free
/// 127.0.0.1 port with its data in a temporary folder; stopped and removed on dispose. Shared by
/// the tests of the "S3" collection. Credentials are s3rver's fixed S3RVER / S3RVER.
/// </summary>
public sealed class S3Server : IDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly Process _process;
    private readonly TempFolder _data = new("s3rver");
    private int _buckets;

    public S3Server()
    {
        var executable = FindS3rver();
        Port = FreePort();
        var info = new ProcessStartInfo("node")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { executable, "-d", _data.Path, "-a", "127.0.0.1", "-p", Port.ToString(), "--silent" }) info.ArgumentList.Add(arg);
        // s3rver makes listing continuation tokens with DES, which OpenSSL 3 refuses without this (FEASIBILITY.md §2).
        info.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start s3rver");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntilListening();
    }

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Where s3rver keeps the objects (for tests that inspect what the store holds).</summary>
    public string DataDirectory => _data.Path;

    /// <summary>A repository location in a bucket no other test uses (created by the first write or by init).</summary>
    public string NewLocation(string? endpoint = null, string prefix = "repo") =>
        $"s3:{endpoint ?? Endpoint}/{NewBucketName()}{(prefix.Length == 0 ? "" : "/" + prefix)}";

    public string NewBucketName() => $"test-{Interlocked.Increment(ref _buckets)}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Sets the AWS credential variables for this process (the backends read them when created).</summary>
    public static void UseCredentials()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", SecretKey);
    }

    /// <summary>Environment for a child strata process that talks to this server.</summary>
    public static CliRunner WithCredentials(CliRunner runner) =>
        runner.WithEnvironment("AWS_ACCESS_KEY_ID", AccessKey).WithEnvironment("AWS_SECRET_ACCESS_KEY", SecretKey);

    private static string FindS3rver()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ".tools", "s3rver", "node_modules", "s3rver", "bin", "s3rver.js");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("s3rver is not installed: run ./test.sh, which installs it into .tools/s3rver");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void WaitUntilListening()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited) throw new InvalidOperationException($"s3rver exited at start with code {_process.ExitCode}");
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        throw new TimeoutException($"s3rver did not listen on port {Port} within 30 s");
    }

    public void Dispose()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
        _process.Dispose();
        _data.Dispose();
    }
}

[CollectionDefinition("S3")]
public sealed class S3Collection : ICollectionFixture<S3Server>;
