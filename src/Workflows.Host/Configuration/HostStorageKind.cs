namespace Workflows.Host.Configuration;

/// <summary>Which task hub backend the host runs on.</summary>
public enum HostStorageKind
{
    /// <summary>Azure Storage (Azurite locally) from <c>AzureWebJobsStorage</c>.</summary>
    AzureStorage,

    /// <summary>The in-memory backend: tests and experiments; everything is lost on exit.</summary>
    InMemory,
}
