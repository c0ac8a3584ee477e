using Strata.Tests.Images;
using Strata.Tests.TestSupport;

namespace Strata.Tests.Cli;

/// <summary>'strata export' through the real CLI, its files checked by the real qemu-img.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly CliWorkspace _ws = new("export-cli");

    public ExportCommandTests() => _ws.Init();

    public void Dispose() => _ws.Dispose();

    private string BackedUpDisk()
    {
        var disk = _ws.PathOf("disk.raw");
        using var f = new FileStream(disk, FileMode.Create);
        f.SetLength(20 * MiB);
        f.Write(TestData.RandomBytes(1 << 20, seed: 4));
        f.Position = 13 * MiB + 777;
        f.Write(TestData.RandomBytes(100_000, seed: 5));
        f.Close();
        _ws.Cli.Run("image", "backup", disk).ShouldSucceed();
        return disk;
    }

    [Theory]
    [InlineData("raw")]
    [InlineData("qcow2")]
    [InlineData("vhdx")]
    [InlineData("vmdk")]
    public void Export_writes_a_file_qemu_img_finds_identical_to_the_backed_up_disk(string format)
    {
        var disk = BackedUpDisk();
        var output = _ws.PathOf($"out.{format}");
        var summary = _ws.Cli.Run("export", "latest", "--format", format, "--output", output, "--json").ShouldSucceed().Summary;
        Assert.Equal(20 * MiB, (long)summary["bytes_total"]!);
        Assert.Equal(format, (string)summary["format"]!);
        Assert.True(Qemu.Identical(disk, "raw", output, format));
        if (format != "raw") Qemu.Run("qemu-img", "check", "-f", format, output);
        Assert.Contains($"\"format\": \"{format}\"", Qemu.Run("qemu-img", "info", "--output=json", output));
        // The holes of the disk take no room in the file (vhdx allocates in 32 MiB blocks, so it is not smaller here).
        if (format is "qcow2" or "vmdk") Assert.True(new FileInfo(output).Length < 4 * MiB);
        Assert.Empty(Directory.EnumerateFiles(_ws.Root, "*strata-partial*"));
    }

    [Fact]
    public void Export_never_overwrites_and_refuses_bad_formats_and_file_snapshots()
    {
        BackedUpDisk();
        var taken = _ws.PathOf("taken.qcow2");
        File.WriteAllText(taken, "precious");
        Assert.Contains("already exists", _ws.Cli.Run("export", "latest", "--format", "qcow2", "--output", taken).ShouldExitWith(1).ShouldNotShowStackTrace().StdErr);
        Assert.Equal("precious", File.ReadAllText(taken));
        Assert.NotEqual(0, _ws.Cli.Run("export", "latest", "--format", "vdi", "--output", _ws.PathOf("x.vdi")).ExitCode);
        Assert.Contains("does not exist", _ws.Cli.Run("export", "latest", "--output", _ws.PathOf("no", "such", "x.raw")).ShouldExitWith(1).StdErr);
        _ws.Tree("src").File("a.txt", "x");
        var fileSnap = (string)_ws.Backup(_ws.PathOf("src"))["snapshot_id"]!;
        Assert.Contains("file snapshot", _ws.Cli.Run("export", fileSnap, "--output", _ws.PathOf("f.raw")).ShouldExitWith(1).StdErr);
        Assert.False(File.Exists(_ws.PathOf("f.raw")));
    }
}
