using Strata.Chunking;
using Strata.Errors;

namespace Strata.Tests.Chunking;

public class ChunkerParametersTests
{
    [Fact]
    public void Default_is_32K_128K_512K_and_valid()
    {
        Assert.Equal(new ChunkerParameters(32 << 10, 128 << 10, 512 << 10), ChunkerParameters.Default);
        ChunkerParameters.Default.Validate();
    }

    [Theory]
    [InlineData(64, 128, 129)]
    [InlineData(16 << 20, 32 << 20, 64 << 20)]
    public void Extremes_are_accepted(int min, int avg, int max) => new ChunkerParameters(min, avg, max).Validate();

    [Theory]
    [InlineData(1024, 3000, 8192, "power of two")]
    [InlineData(1024, 0, 8192, "power of two")]
    [InlineData(63, 128, 1024, "64 B <= min")]
    [InlineData(4096, 4096, 8192, "min < avg")]
    [InlineData(1024, 4096, 4096, "avg < max")]
    [InlineData(1024, 4096, (64 << 20) + 1, "max <= 64 MiB")]
    public void Invalid_sizes_are_refused_with_a_clear_message(int min, int avg, int max, string hint)
    {
        var error = Assert.Throws<UsageException>(() => new ChunkerParameters(min, avg, max).Validate());
        Assert.Contains("chunker", error.Message);
        Assert.Contains(hint, error.Message);
    }
}
