using Microsoft.DurableTask.Client;

namespace Workflows.DurableTask.Client;

/// <summary>Instances per runtime status; <paramref name="Complete"/> is false when counting stopped at its limit.</summary>
/// <param name="Counts">Instances counted, per runtime status.</param>
/// <param name="Complete">Whether every matching instance was counted.</param>
public sealed record InstanceCounts(IReadOnlyDictionary<OrchestrationRuntimeStatus, long> Counts, bool Complete);
