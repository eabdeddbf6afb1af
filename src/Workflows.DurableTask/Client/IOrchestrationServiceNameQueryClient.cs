using DurableTask.Core.Query;

namespace Workflows.DurableTask.Client;

/// <summary>
/// A backend that filters its instance query by orchestration name, which DTFx's <see cref="OrchestrationQuery"/>
/// cannot carry. <see cref="OrchestrationServiceDurableTaskClient"/> uses it when the backend's client implements it
/// and filters each page itself otherwise.
/// </summary>
public interface IOrchestrationServiceNameQueryClient
{
    /// <summary>
    /// One page of the instances that match <paramref name="query"/> and whose orchestration name starts with
    /// <paramref name="namePrefix"/> (ignoring case).
    /// </summary>
    Task<OrchestrationQueryResult> GetOrchestrationWithQueryAsync(OrchestrationQuery query, string namePrefix, CancellationToken cancellationToken);
}
