using System.Collections.Immutable;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Tests.TestSupport;

/// <summary>
/// Runs the real <c>strata</c> command as a child process (<c>dotnet strata.dll ARGS</c>, the build
/// that lands next to the test assembly) the way a user or script would: its own environment
/// (<c>STRATA_REPOSITORY</c>, <c>STRATA_PASSWORD</c>, nothing inherited from the caller's STRATA_*),
/// stdin closed, stdout and stderr captured, a time limit. Immutable: the <c>With…</c> methods
/// return a changed copy, so one test can hold a runner per password or per user.
/// </summary>
public sealed class CliRunner
{
    public const string DefaultPassword = "test-password-1";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    private readonly ImmutableDictionary<string, string?> _environment;
    private readonly ImmutableArray<string> _prefix;

    public CliRunner(string repository, string? password = DefaultPassword)
        : this(repository, password, ImmutableDictionary<string, string?>.Empty, ImmutableArray<string>.Empty, null)
    {
    }

    private CliRunner(string repository, string? password, ImmutableDictionary<string, string?> environment, ImmutableArray<string> prefix, string? workingDirectory)
    {
        Repository = repository;
        Password = password;
        _environment = environment;
        _prefix = prefix;
        WorkingDirectory = workingDirectory;
    }

    /// <summary>The CLI next to the test assembly (the test project references Strata.Cli).</summary>
    public static string StrataDll => Path.Combine(AppContext.BaseDirectory, "strata.dll");

    /// <summary>Value of STRATA_REPOSITORY for the child.</summary>
    public string Repository { get; }

    /// <summary>Value of STRATA_PASSWORD for the child; null leaves it unset.</summary>
    public string? Password { get; }

    public string? WorkingDirectory { get; }

    public CliRunner WithPassword(string? password) => new(Repository, password, _environment, _prefix, WorkingDirectory);
    public CliRunner WithRepository(string repository) => new(repository, Password, _environment, _prefix, WorkingDirectory);
    public CliRunner WithWorkingDirectory(string directory) => new(Repository, Password, _environment, _prefix, directory);

    /// <summary>Sets (or, with null, removes) one more environment variable of the child.</summary>
    public CliRunner WithEnvironment(string name, string? value) => new(Repository, Password, _environment.SetItem(name, value), _prefix, WorkingDirectory);

    /// <summary>Runs the CLI under a wrapper command, e.g. <c>setpriv --reuid=65534 …</c>.</summary>
    public CliRunner WithPrefix(params string[] prefix) => new(Repository, Password, _environment, [.. prefix], WorkingDirectory);

    /// <summary>Runs to completion and returns what happened; throws <see cref="TimeoutException"/> past the limit.</summary>
    public CliResult Run(params string[] args) => RunAsync(args).GetAwaiter().GetResult();

    public async Task<CliResult> RunAsync(IReadOnlyList<string> args, TimeSpan? timeout = null)
    {
        using var process = Start(args);
        return await process.WaitAsync(timeout ?? DefaultTimeout).ConfigureAwait(false);
    }

    /// <summary>Starts the CLI and returns at once; the caller may <see cref="CliProcess.Kill"/> it.</summary>
    public CliProcess Start(params string[] args) => Start((IReadOnlyList<string>)args);

    public CliProcess Start(IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo
        {
            FileName = _prefix.IsEmpty ? "dotnet" : _prefix[0],
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = WorkingDirectory ?? Path.GetTempPath(),
        };
        foreach (var part in _prefix.Skip(1)) info.ArgumentList.Add(part);
        if (!_prefix.IsEmpty) info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(StrataDll);
        foreach (var arg in args) info.ArgumentList.Add(arg);

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("STRATA_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(name);
        info.Environment["STRATA_REPOSITORY"] = Repository;
        if (Password is not null) info.Environment["STRATA_PASSWORD"] = Password;
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in _environment)
        {
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        }
        return new CliProcess(info, args);
    }
}

/// <summary>A running <c>strata</c> process.</summary>
public sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task<TimeSpan> _exitedAfter;
    private readonly IReadOnlyList<string> _args;
    private volatile bool _killed;

    internal CliProcess(ProcessStartInfo info, IReadOnlyList<string> args)
    {
        _args = args.ToArray();
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + info.FileName);
        // No person at a terminal: a closed stdin is what a script or CI gives.
        _process.StandardInput.Close();
        _stdout = _process.StandardOutput.ReadToEndAsync();
        _stderr = _process.StandardError.ReadToEndAsync();
        _exitedAfter = _process.WaitForExitAsync().ContinueWith(_ => _clock.Elapsed, TaskScheduler.Default);
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>SIGKILL: the process gets no chance to clean up, as after a power cut or the OOM killer.</summary>
    public void Kill()
    {
        _killed = true;
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // already gone
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the process alone (not its children), as a user's Ctrl-C
    /// (2, SIGINT), a service manager (15, SIGTERM) or <c>kill -9</c> (9) would; false when it is already gone.
    /// </summary>
    public bool Signal(int signal) => kill(_process.Id, signal) == 0;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
            var partial = await ResultAsync().ConfigureAwait(false);
            throw new TimeoutException($"strata {string.Join(' ', _args)} did not finish within {timeout.TotalSeconds:0} s\n{partial.Describe()}");
        }
        return await ResultAsync().ConfigureAwait(false);
    }

    private async Task<CliResult> ResultAsync()
    {
        var stdout = await _stdout.ConfigureAwait(false);
        var stderr = await _stderr.ConfigureAwait(false);
        var duration = await _exitedAfter.ConfigureAwait(false);
        return new CliResult(_args, _process.ExitCode, stdout, stderr, duration, _killed);
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}

/// <summary>What one run of the CLI did: exit code, output, duration.</summary>
public sealed record CliResult(IReadOnlyList<string> Arguments, int ExitCode, string StdOut, string StdErr, TimeSpan Duration, bool Killed)
{
    public IEnumerable<string> StdErrLines => StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    public IEnumerable<string> StdOutLines => StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Every stdout line that is a JSON object (--json prints one document per line).</summary>
    public IEnumerable<JsonObject> JsonObjects
    {
        get
        {
            foreach (var line in StdOutLines)
            {
                if (!line.StartsWith('{')) continue;
                JsonNode? node;
                try { node = JsonNode.Parse(line); }
                catch (JsonException) { continue; }
                if (node is JsonObject o) yield return o;
            }
        }
    }

    /// <summary>The last object with <c>message_type: "summary"</c>.</summary>
    public JsonObject Summary =>
        JsonObjects.LastOrDefault(o => (string?)o["message_type"] == "summary")
        ?? throw new Xunit.Sdk.XunitException("no JSON summary object on stdout\n" + Describe());

    /// <summary>All of stdout as one JSON document.</summary>
    public JsonNode Json
    {
        get
        {
            try { return JsonNode.Parse(StdOut) ?? throw new JsonException("null document"); }
            catch (JsonException e) { throw new Xunit.Sdk.XunitException($"stdout is not one JSON document ({e.Message})\n{Describe()}"); }
        }
    }

    /// <summary>Lines that look like a .NET stack trace: a user must never see one.</summary>
    public IEnumerable<string> StackTraceLines =>
        (StdOut + "\n" + StdErr).Split('\n').Where(l => l.StartsWith("   at ", StringComparison.Ordinal) || l.Contains("Unhandled exception", StringComparison.Ordinal));

    /// <summary>Fails the test, showing the whole run, unless the exit code is <paramref name="expected"/>.</summary>
    public CliResult ShouldExitWith(int expected)
    {
        if (ExitCode != expected)
            throw new Xunit.Sdk.XunitException($"expected exit code {expected}, got {ExitCode}\n{Describe()}");
        return this;
    }

    public CliResult ShouldSucceed() => ShouldExitWith(0);

    /// <summary>Fails unless the run printed no stack trace.</summary>
    public CliResult ShouldNotShowStackTrace()
    {
        var trace = StackTraceLines.ToList();
        if (trace.Count > 0) throw new Xunit.Sdk.XunitException($"the output holds a stack trace\n{Describe()}");
        return this;
    }

    public string Describe()
    {
        static string Cut(string s) => s.Length <= 6000 ? s : s[..3000] + "\n…\n" + s[^3000..];
        return $"$ strata {string.Join(' ', Arguments)}\nexit {ExitCode}{(Killed ? " (killed)" : "")} after {Duration.TotalSeconds:0.00} s\n--- stdout\n{Cut(StdOut)}\n--- stderr\n{Cut(StdErr)}";
    }

    public override string ToString() => Describe();
}
