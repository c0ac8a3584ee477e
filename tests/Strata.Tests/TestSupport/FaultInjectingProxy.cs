using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Strata.Tests.TestSupport;

/// <summary>What the proxy does to one request.</summary>
public enum Fault
{
    /// <summary>Passes the request through untouched.</summary>
    None,
    /// <summary>Resets the connection without answering (the request is not forwarded).</summary>
    DropConnection,
    /// <summary>Answers 500 InternalError without forwarding.</summary>
    InternalError,
    /// <summary>Answers 503 SlowDown (S3's throttling answer) without forwarding.</summary>
    SlowDown,
    /// <summary>Forwards after a pause of <see cref="FaultInjectingProxy.DelayLength"/>.</summary>
    Delay,
    /// <summary>Forwards, then sends the full headers but only half the body and resets the connection.</summary>
    CutResponseBody,
    /// <summary>Forwards (the server acts on it), then resets the connection instead of answering: the answer is lost.</summary>
    LoseAnswer,
}

/// <summary>
/// An HTTP/1.1 proxy between a client and a real server that injects the faults of real networks
/// and object stores: connections reset, 500 and 503 answers, delays, bodies cut short, answers
/// lost after the server acted. The client side is raw TCP, so a reset is a real reset; requests
/// go on to the server through HttpClient. <see cref="Choose"/> decides per request (a seeded
/// random rate by default); <see cref="Injected"/> counts what was done, so tests can show the faults happened.
/// </summary>
public sealed class FaultInjectingProxy : IDisposable
{
    private static readonly Fault[] AllFaults = [Fault.DropConnection, Fault.InternalError, Fault.SlowDown, Fault.Delay, Fault.CutResponseBody, Fault.LoseAnswer];
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
        { "Host", "Connection", "Keep-Alive", "Content-Length", "Transfer-Encoding", "Expect", "Proxy-Connection", "TE", "Upgrade" };
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly HttpClient _upstream;
    private readonly Uri _target;
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly int[] _counts = new int[AllFaults.Length + 1];

    public FaultInjectingProxy(string target, double faultRate = 0, int seed = 1)
    {
        _target = new Uri(target);
        _random = new Random(seed);
        FaultRate = faultRate;
        _upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseProxy = false })
        {
            Timeout = TimeSpan.FromMinutes(2),
        };
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Share of requests that get a fault chosen at random among all kinds (when <see cref="Choose"/> is not set).</summary>
    public double FaultRate { get; set; }

    public TimeSpan DelayLength { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Decides the fault for a request from its method and target (path and query); overrides <see cref="FaultRate"/>.</summary>
    public Func<string, string, Fault>? Choose { get; set; }

    public int Injected(Fault fault) => Volatile.Read(ref _counts[(int)fault]);
    public int TotalInjected => AllFaults.Sum(Injected);

    private Fault Decide(string method, string target)
    {
        if (Choose is { } choose) return choose(method, target);
        lock (_random)
        {
            if (_random.NextDouble() >= FaultRate) return Fault.None;
            return AllFaults[_random.Next(AllFaults.Length)];
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException) { return; }
            _ = Task.Run(() => ServeConnectionAsync(client));
        }
    }

    /// <summary>Serves the requests of one kept-alive connection until the client closes it or a fault resets it.</summary>
    private async Task ServeConnectionAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        var reader = new BufferedReader(stream);
        try
        {
            while (true)
            {
                var head = await reader.ReadHeadAsync().ConfigureAwait(false);
                if (head is null) return;
                var lines = head.Split("\r\n");
                var requestLine = lines[0].Split(' ');
                var (method, target) = (requestLine[0], requestLine[1]);
                var headers = lines.Skip(1).Where(l => l.Length > 0).Select(l => (Name: l[..l.IndexOf(':')].Trim(), Value: l[(l.IndexOf(':') + 1)..].Trim())).ToList();
                var fault = Decide(method, target);
                Interlocked.Increment(ref _counts[(int)fault]);
                if (fault == Fault.DropConnection) { Reset(socket); return; }

                if (headers.Any(h => h.Name.Equals("Expect", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("100-continue", StringComparison.OrdinalIgnoreCase)))
                    await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray()).ConfigureAwait(false);
                long length = headers.Where(h => h.Name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => long.Parse(h.Value)).FirstOrDefault();
                if (headers.Any(h => h.Name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)))
                    throw new NotSupportedException("the fault-injecting proxy does not take chunked request bodies");
                var body = await reader.ReadBodyAsync(length).ConfigureAwait(false);
                if (body is null) return; // the client went away mid-body: nothing is passed on

                switch (fault)
                {
                    case Fault.InternalError:
                        await WriteErrorAsync(stream, 500, "Internal Server Error", "InternalError", "We encountered an internal error. Please try again.").ConfigureAwait(false);
                        continue;
                    case Fault.SlowDown:
                        await WriteErrorAsync(stream, 503, "Slow Down", "SlowDown", "Please reduce your request rate.").ConfigureAwait(false);
                        continue;
                    case Fault.Delay:
                        await Task.Delay(DelayLength).ConfigureAwait(false);
                        break;
                }

                using var answer = await ForwardAsync(method, target, headers, body).ConfigureAwait(false);
                var content = await answer.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                if (fault == Fault.LoseAnswer) { Reset(socket); return; }

                var response = new StringBuilder($"HTTP/1.1 {(int)answer.StatusCode} {answer.ReasonPhrase}\r\n");
                foreach (var header in answer.Headers.Concat(answer.Content.Headers))
                {
                    if (HopByHop.Contains(header.Key)) continue;
                    foreach (var value in header.Value) response.Append(header.Key).Append(": ").Append(value).Append("\r\n");
                }
                long declared = method == "HEAD" ? answer.Content.Headers.ContentLength ?? 0 : content.Length;
                response.Append("Content-Length: ").Append(declared).Append("\r\n\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(response.ToString())).ConfigureAwait(false);
                if (method == "HEAD") continue;
                if (fault == Fault.CutResponseBody && content.Length > 0)
                {
                    await stream.WriteAsync(content.AsMemory(0, content.Length / 2)).ConfigureAwait(false);
                    await stream.FlushAsync().ConfigureAwait(false);
                    Reset(socket);
                    return;
                }
                await stream.WriteAsync(content).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or HttpRequestException or ObjectDisposedException or TaskCanceledException or NotSupportedException)
        {
            Reset(socket);
        }
    }

    private async Task<HttpResponseMessage> ForwardAsync(string method, string target, List<(string Name, string Value)> headers, byte[] body)
    {
        var message = new HttpRequestMessage(new HttpMethod(method), new Uri(_target, target));
        if (body.Length > 0 || method is "PUT" or "POST") message.Content = new ByteArrayContent(body);
        foreach (var (name, value) in headers)
        {
            if (HopByHop.Contains(name)) continue;
            if (!message.Headers.TryAddWithoutValidation(name, value)) message.Content?.Headers.TryAddWithoutValidation(name, value);
        }
        return await _upstream.SendAsync(message, HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
    }

    private static async Task WriteErrorAsync(Stream stream, int status, string reason, string code, string message)
    {
        var xml = Encoding.UTF8.GetBytes($"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>");
        var head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {xml.Length}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head)).ConfigureAwait(false);
        await stream.WriteAsync(xml).ConfigureAwait(false);
    }

    /// <summary>An abortive close (RST), as when a middlebox or the server dies: the client sees "connection reset".</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _upstream.Dispose();
        _stop.Dispose();
    }

    /// <summary>Reads HTTP heads and bodies off a connection, keeping what was read past the end of each.</summary>
    private sealed class BufferedReader(Stream stream)
    {
        private byte[] _buffer = new byte[64 << 10];
        private int _start, _end;

        /// <summary>The request line and headers (without the blank line), or null when the client closed the connection.</summary>
        public async Task<string?> ReadHeadAsync()
        {
            while (true)
            {
                int at = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
                if (at >= 0)
                {
                    var head = Encoding.ASCII.GetString(_buffer, _start, at);
                    _start += at + 4;
                    return head;
                }
                if (!await FillAsync().ConfigureAwait(false)) return null;
            }
        }

        /// <summary>Exactly <paramref name="length"/> bytes, or null when the connection ended first.</summary>
        public async Task<byte[]?> ReadBodyAsync(long length)
        {
            var body = new byte[length];
            int done = 0;
            while (done < length)
            {
                if (_start == _end && !await FillAsync().ConfigureAwait(false)) return null;
                int n = (int)Math.Min(length - done, _end - _start);
                Array.Copy(_buffer, _start, body, done, n);
                _start += n;
                done += n;
            }
            return body;
        }

        private async Task<bool> FillAsync()
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            int n = await stream.ReadAsync(_buffer.AsMemory(_end)).ConfigureAwait(false);
            _end += n;
            return n > 0;
        }
    }
}
