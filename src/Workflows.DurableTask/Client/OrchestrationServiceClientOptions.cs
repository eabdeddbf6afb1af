using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;

namespace Workflows.DurableTask.Client;

/// <summary>Settings of an <see cref="OrchestrationServiceDurableTaskClient"/>.</summary>
public sealed class OrchestrationServiceClientOptions
{
    /// <summary>Serializes inputs, event payloads and termination outputs, and reads outputs back.</summary>
    public DataConverter DataConverter { get; set; } = JsonDataConverter.Default;

    /// <summary>The clock the client's polling waits use.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// How often the client reads an instance's status while it waits for the instance to start, and, when set,
    /// while it waits for it to finish. Unset, a wait for completion uses the backend's own
    /// <c>WaitForOrchestrationAsync</c> (the in-memory backend wakes at once; DTFx's Azure Storage provider polls
    /// every 2 seconds).
    /// </summary>
    public TimeSpan? StatusPollingInterval { get; set; }

    /// <summary>
    /// How the backend rewinds a Failed instance (instance id, reason), for a backend with a way of its own: DTFx's
    /// Azure Storage provider rewrites the stored history in <c>RewindTaskOrchestrationAsync</c>. Unset, the client
    /// sends the instance an <c>ExecutionRewoundEvent</c>, which DTFx's dispatcher applies to the history it loads.
    /// </summary>
    public Func<string, string?, Task>? Rewind { get; set; }

    internal TimeSpan StartPollingInterval => StatusPollingInterval ?? TimeSpan.FromSeconds(1);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(DataConverter);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (StatusPollingInterval is { } interval)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        }
    }
}
