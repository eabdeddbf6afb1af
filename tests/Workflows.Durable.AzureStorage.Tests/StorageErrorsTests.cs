using Azure;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>Which failures the task hub's background loops ride out: the storage SDK's exhausted retries included.</summary>
public sealed class StorageErrorsTests
{
    [Fact]
    public void ExhaustedRetries_OnErrorsOrNetworkTimeouts_AreTransient()
    {
        // What the SDK throws after its retries when storage hangs: each attempt cancelled by its network timeout.
        var timedOut = new AggregateException(new TaskCanceledException("network timeout"), new TaskCanceledException("network timeout"), new TimeoutException());
        var refused = new AggregateException(new RequestFailedException(503, "busy"), new HttpRequestException("refused"));

        Assert.True(StorageErrors.IsTransient(timedOut));
        Assert.True(StorageErrors.IsTransient(refused));
        Assert.True(StorageErrors.IsTransient(new IOException("reset")));
    }

    [Fact]
    public void ProgrammingErrors_AndAnEmptyAggregate_AreNot()
    {
        Assert.False(StorageErrors.IsTransient(new InvalidOperationException("bug")));
        Assert.False(StorageErrors.IsTransient(new AggregateException()));
        Assert.False(StorageErrors.IsTransient(new AggregateException(new TaskCanceledException(), new ArgumentException("bug"))));
        Assert.False(StorageErrors.IsTransient(new TaskCanceledException("a caller's cancellation on its own")));
    }
}
