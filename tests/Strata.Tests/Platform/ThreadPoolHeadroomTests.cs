using Strata.Platform;

namespace Strata.Tests.Platform;

public class ThreadPoolHeadroomTests
{
    [Fact]
    public void Ensure_raises_the_pools_minimum_to_what_is_asked()
    {
        ThreadPool.GetMinThreads(out int before, out int completionsBefore);
        ThreadPoolHeadroom.Ensure(before + 3);
        ThreadPool.GetMinThreads(out int after, out int completionsAfter);
        Assert.True(after >= before + 3, $"minimum {after}, asked for {before + 3}");
        Assert.Equal(completionsBefore, completionsAfter);
    }

    [Fact]
    public void Ensure_never_lowers_the_minimum()
    {
        ThreadPoolHeadroom.Ensure(Environment.ProcessorCount + 2);
        ThreadPool.GetMinThreads(out int before, out _);
        ThreadPoolHeadroom.Ensure(1);
        ThreadPool.GetMinThreads(out int after, out _);
        Assert.True(after >= before, $"minimum went down from {before} to {after}");
    }
}
