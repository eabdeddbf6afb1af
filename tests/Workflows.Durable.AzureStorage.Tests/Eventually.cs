namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>Waits for a condition on external state (lease ownership, lease rounds against storage) with a deadline.</summary>
internal static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; throws <see cref="OperationCanceledException"/> after <paramref name="deadline"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        while (!condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
        }
    }
}
