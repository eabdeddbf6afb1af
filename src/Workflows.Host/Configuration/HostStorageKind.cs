namespace Workflows.Host.Configuration;

/// <summary>
/// Which task hub backend the host runs on (host.json <c>extensions.durableTask.storageProvider.type</c>, or the app
/// setting <c>WorkflowsStorageProvider</c>, which wins).
/// </summary>
public enum HostStorageKind
{
    /// <summary>
    /// Our Azure Storage task hub (the default: it passes the conformance and fault suites and is the faster of the two
    /// Azure Storage backends), on <c>AzureWebJobsStorage</c>; Azurite locally.
    /// </summary>
    Workflows,

    /// <summary>
    /// DTFx's own Azure Storage provider, the task hub layout Durable Functions and its tools read, on
    /// <c>AzureWebJobsStorage</c>.
    /// </summary>
    AzureStorage,

    /// <summary>The in-memory backend: tests and experiments; everything is lost on exit.</summary>
    InMemory,
}
