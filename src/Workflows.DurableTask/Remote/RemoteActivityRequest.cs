namespace Workflows.DurableTask.Remote;

/// <summary>One activity call for an <see cref="IRemoteTaskRunner"/>.</summary>
/// <param name="Name">The activity's name.</param>
/// <param name="InstanceId">The orchestration instance that scheduled it.</param>
/// <param name="TaskId">The scheduling event's id in that instance's history.</param>
/// <param name="Input">The serialized input (JSON as the orchestrator's data converter wrote it), or null.</param>
public sealed record RemoteActivityRequest(string Name, string InstanceId, int TaskId, string? Input);
