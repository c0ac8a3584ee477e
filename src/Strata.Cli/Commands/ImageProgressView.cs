using Strata.Cli.Output;
using Strata.Images;

namespace Strata.Cli.Commands;

internal static class ImageProgressView
{
    public static string Render(ImageProgress p, TimeSpan elapsed, string verb)
    {
        double rate = elapsed.TotalSeconds > 0.5 ? p.BytesDone / elapsed.TotalSeconds : 0;
        string eta = rate > 0 && p.BytesTotal > p.BytesDone ? $" ETA {Terminal.Duration(TimeSpan.FromSeconds((p.BytesTotal - p.BytesDone) / rate))}" : "";
        return $"[{Terminal.Duration(elapsed)}] {Terminal.Bytes(p.BytesDone)} / {Terminal.Bytes(p.BytesTotal)} {verb}, {Terminal.Bytes((long)rate)}/s{eta}";
    }
}
