namespace Strata.Tests.Mount;

/// <summary>A test that needs FUSE: skipped, saying why, only where the kernel offers none (/dev/fuse missing).</summary>
public sealed class FuseFactAttribute : FactAttribute
{
    public FuseFactAttribute()
    {
        if (!File.Exists("/dev/fuse"))
            Skip = "FUSE is not available on this machine: /dev/fuse is missing (the kernel lacks FUSE)";
    }
}
