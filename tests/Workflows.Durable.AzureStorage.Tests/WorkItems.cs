using Workflows.Durable.Storage;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>Locking work items in tests that drive the provider the way a worker does.</summary>
internal static class WorkItems
{
    /// <summary>The next work item, or null when none comes within <paramref name="wait"/>.</summary>
    public static async Task<OrchestrationWorkItem?> TryLockAsync(AzureStorageProvider provider, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            return await provider.LockNextOrchestrationWorkItemAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Lets the provider receive and lock what it can for <paramref name="period"/>; fails if it hands out a work item.</summary>
    public static async Task PollWithoutWorkAsync(AzureStorageProvider provider, TimeSpan period) =>
        Assert.Null(await TryLockAsync(provider, period));
}
