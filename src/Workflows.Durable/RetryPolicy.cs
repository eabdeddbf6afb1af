namespace Workflows.Durable;

/// <summary>
/// A durable retry policy for activity and sub-orchestration calls: the delay before attempt <c>n + 1</c> is
/// <c>min(FirstRetryInterval × BackoffCoefficient^(n-1), MaxRetryInterval)</c>, waited on a durable timer.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>Creates a policy.</summary>
    /// <param name="maxNumberOfAttempts">Total attempts including the first, at least 1.</param>
    /// <param name="firstRetryInterval">Delay before the first retry, greater than zero.</param>
    /// <param name="backoffCoefficient">Growth of the delay per retry, at least 1.</param>
    /// <param name="maxRetryInterval">Upper bound of one delay (default: unbounded).</param>
    /// <param name="retryTimeout">No retry starts later than this after the first attempt (default: none).</param>
    public RetryPolicy(
        int maxNumberOfAttempts,
        TimeSpan firstRetryInterval,
        double backoffCoefficient = 1.0,
        TimeSpan? maxRetryInterval = null,
        TimeSpan? retryTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNumberOfAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(firstRetryInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(backoffCoefficient, 1.0);
        if (maxRetryInterval is { } max && max < firstRetryInterval)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRetryInterval), "MaxRetryInterval must be at least FirstRetryInterval.");
        }

        MaxNumberOfAttempts = maxNumberOfAttempts;
        FirstRetryInterval = firstRetryInterval;
        BackoffCoefficient = backoffCoefficient;
        MaxRetryInterval = maxRetryInterval ?? TimeSpan.MaxValue;
        RetryTimeout = retryTimeout ?? TimeSpan.MaxValue;
    }

    /// <summary>Total attempts including the first.</summary>
    public int MaxNumberOfAttempts { get; }

    /// <summary>Delay before the first retry.</summary>
    public TimeSpan FirstRetryInterval { get; }

    /// <summary>Growth factor of the delay.</summary>
    public double BackoffCoefficient { get; }

    /// <summary>Upper bound of one delay.</summary>
    public TimeSpan MaxRetryInterval { get; }

    /// <summary>No retry starts later than this after the first attempt.</summary>
    public TimeSpan RetryTimeout { get; }

    /// <summary>Decides whether a failure is retried (default: every failure not marked non-retriable).</summary>
    public Func<FailureDetails, bool>? HandleFailure { get; init; }

    /// <summary>The delay before retry number <paramref name="retry"/> (1 for the first retry).</summary>
    public TimeSpan GetDelay(int retry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retry, 1);
        var ticks = FirstRetryInterval.Ticks * Math.Pow(BackoffCoefficient, retry - 1);
        return ticks >= MaxRetryInterval.Ticks ? MaxRetryInterval : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Whether a failure should be retried by this policy, ignoring attempt counts.</summary>
    public bool ShouldHandle(FailureDetails failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return !failure.IsNonRetriable && (HandleFailure?.Invoke(failure) ?? true);
    }
}
