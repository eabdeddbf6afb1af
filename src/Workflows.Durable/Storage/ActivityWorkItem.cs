namespace Workflows.Durable.Storage;

/// <summary>A locked activity request. Complete it with its result message, or abandon it to have it re-run.</summary>
public sealed class ActivityWorkItem
{
    /// <summary>The request.</summary>
    public required ActivityMessage Message { get; init; }

    /// <summary>How many times this request was handed out before.</summary>
    public int DequeueCount { get; init; }

    /// <summary>Provider-private lock state.</summary>
    public required object LockState { get; init; }
}
