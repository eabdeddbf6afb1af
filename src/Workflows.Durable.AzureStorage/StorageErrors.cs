using Azure;

namespace Workflows.Durable.AzureStorage;

/// <summary>Which storage failures a background loop rides out (the next round retries) instead of dying of.</summary>
internal static class StorageErrors
{
    /// <summary>
    /// An error answer (<see cref="RequestFailedException"/>), no answer (<see cref="HttpRequestException"/>,
    /// <see cref="IOException"/>), or the SDK's retries exhausted on those (an <see cref="AggregateException"/> of
    /// them, or of attempts past the SDK's network timeout: what a call returns while storage is down or hangs, e.g.
    /// while Azurite restarts).
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        RequestFailedException or HttpRequestException or IOException => true,
        // The SDK's retries exhausted: each attempt failed, or ran past the network timeout (storage that hangs).
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(static inner => IsTransient(inner) || inner is OperationCanceledException or TimeoutException),
        _ => false,
    };
}
