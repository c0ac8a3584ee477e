using Strata.Storage;

namespace Strata.Tests.Storage;

public sealed class RetryPolicyTests
{
    private static readonly RetryPolicy Fast = new() { MaxAttempts = 5, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(4) };

    [Fact]
    public async Task A_transient_failure_is_retried_until_it_passes()
    {
        int calls = 0;

        var result = await Fast.RunAsync(_ => ++calls < 3 ? throw new IOException("reset") : Task.FromResult(42), _ => true, CancellationToken.None);

        Assert.Equal(42, result);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task A_permanent_failure_is_not_retried()
    {
        int calls = 0;

        await Assert.ThrowsAsync<InvalidDataException>(() =>
            Fast.RunAsync<int>(_ => { calls++; throw new InvalidDataException(); }, e => e is IOException, CancellationToken.None));

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task After_the_last_attempt_the_failure_is_thrown()
    {
        int calls = 0;

        await Assert.ThrowsAsync<IOException>(() => Fast.RunAsync<int>(_ => { calls++; throw new IOException("down"); }, _ => true, CancellationToken.None));

        Assert.Equal(5, calls);
    }

    [Fact]
    public async Task Cancellation_stops_retrying()
    {
        using var cts = new CancellationTokenSource();
        int calls = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Fast.RunAsync<int>(_ =>
        {
            calls++;
            cts.Cancel();
            throw new IOException("down");
        }, _ => true, cts.Token));

        Assert.Equal(1, calls);
    }

    [Theory]
    [InlineData(1, 200)]
    [InlineData(2, 400)]
    [InlineData(4, 1600)]
    [InlineData(20, 20_000)]
    public void The_delay_grows_exponentially_up_to_the_cap_and_is_jittered_below_it(int attempt, double ceilingMs)
    {
        var policy = new RetryPolicy { BaseDelay = TimeSpan.FromMilliseconds(200), MaxDelay = TimeSpan.FromSeconds(20) };

        Assert.Equal(ceilingMs, policy.DelayAfter(attempt, 0.999_999_9).TotalMilliseconds, 1);
        Assert.Equal(ceilingMs / 2, policy.DelayAfter(attempt, 0.5).TotalMilliseconds, 1);
        Assert.Equal(0, policy.DelayAfter(attempt, 0).TotalMilliseconds);
    }
}
