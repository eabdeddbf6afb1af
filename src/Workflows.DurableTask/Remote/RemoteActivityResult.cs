using DurableTask.Core;

namespace Workflows.DurableTask.Remote;

/// <summary>What an activity run by an <see cref="IRemoteTaskRunner"/> came to: its output or its failure.</summary>
/// <param name="Output">The serialized output (JSON), or null; ignored when <paramref name="Failure"/> is set.</param>
/// <param name="Failure">The exception the activity's code threw, or null when it completed.</param>
public sealed record RemoteActivityResult(string? Output, FailureDetails? Failure = null)
{
    /// <summary>A completed activity.</summary>
    public static RemoteActivityResult Completed(string? output) => new(output);

    /// <summary>A failed activity.</summary>
    public static RemoteActivityResult Failed(FailureDetails failure) =>
        new(null, failure ?? throw new ArgumentNullException(nameof(failure)));
}
