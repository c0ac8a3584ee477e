using Strata.Images;

namespace Strata.Tests.Images;

public sealed class BlockRunTests
{
    [Fact]
    public void Adjacent_blocks_form_runs_no_longer_than_the_limit()
    {
        var runs = BlockRun.Split([0, 1, 2, 3, 4, 7, 9, 10, 11, 40], maxCount: 3);
        Assert.Equal([new(0, 3), new(3, 2), new(7, 1), new(9, 3), new(40, 1)], runs);
    }

    [Fact]
    public void No_blocks_make_no_runs_and_a_limit_of_one_makes_single_blocks()
    {
        Assert.Empty(BlockRun.Split([], maxCount: 16));
        Assert.Equal([new(5, 1), new(6, 1)], BlockRun.Split([5, 6], maxCount: 1));
    }
}
