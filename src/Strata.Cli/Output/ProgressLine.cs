namespace Strata.Cli.Output;

/// <summary>
/// A status line redrawn in place on stderr a few times a second while an operation runs.
/// Draws nothing when stderr is not a terminal (scripts, logs, CI) or output is JSON.
/// </summary>
public sealed class ProgressLine : IDisposable
{
    private readonly Func<string> _render;
    private readonly Timer? _timer;
    private readonly object _lock = new();
    private int _lastLength;
    private bool _stopped;

    public ProgressLine(bool enabled, Func<string> render)
    {
        _render = render;
        if (enabled && Terminal.StderrIsTerminal)
            _timer = new Timer(_ => Draw(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }

    private void Draw()
    {
        lock (_lock)
        {
            if (_stopped) return;
            var text = _render();
            int width = Math.Max(20, SafeWidth() - 1);
            if (text.Length > width) text = text[..(width - 1)] + "…";
            Console.Error.Write("\r" + text.PadRight(_lastLength));
            _lastLength = text.Length;
        }
    }

    public void Dispose()
    {
        if (_timer is null) return;
        _timer.Dispose();
        lock (_lock)
        {
            _stopped = true;
            if (_lastLength > 0) Console.Error.Write("\r" + new string(' ', _lastLength) + "\r");
        }
    }

    private static int SafeWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 100; }
        catch (IOException) { return 100; }
    }
}
