using Microsoft.Extensions.Logging;

namespace Workflows.Host.Configuration;

/// <summary>
/// Settings of the Functions-style host, read from host.json (<c>extensions.durableTask</c>, <c>extensions.http</c>,
/// <c>functionTimeout</c>, <c>logging.logLevel</c>) and app settings (<c>AzureWebJobsStorage</c>, ...); environment
/// variables override both. <see cref="Validate"/> names the first invalid key.
/// </summary>
public sealed class FunctionsHostOptions
{
    /// <summary>Where the host listens unless told otherwise (as the Functions Core Tools).</summary>
    public const string DefaultUrl = "http://127.0.0.1:7071";

    /// <summary>Task hub name (<c>extensions.durableTask.hubName</c>).</summary>
    public string HubName { get; set; } = "WorkflowsHub";

    /// <summary>Concurrent activities per host (<c>extensions.durableTask.maxConcurrentActivityFunctions</c>).</summary>
    public int MaxConcurrentActivityFunctions { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>Concurrent orchestration episodes per host (<c>extensions.durableTask.maxConcurrentOrchestratorFunctions</c>).</summary>
    public int MaxConcurrentOrchestratorFunctions { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>Extended sessions (<c>extensions.durableTask.extendedSessionsEnabled</c>).</summary>
    public bool ExtendedSessionsEnabled { get; set; } = true;

    /// <summary>
    /// How long an extended session waits for its instance's next message before it ends
    /// (<c>extensions.durableTask.extendedSessionIdleTimeoutInSeconds</c>).
    /// </summary>
    public int ExtendedSessionIdleTimeoutInSeconds { get; set; } = 30;

    /// <summary>Control-queue partitions (<c>extensions.durableTask.storageProvider.partitionCount</c>).</summary>
    public int PartitionCount { get; set; } = 4;

    /// <summary>Longest idle queue-polling interval (<c>extensions.durableTask.storageProvider.maxQueuePollingInterval</c>).</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Prefix of HTTP function routes (<c>extensions.http.routePrefix</c>), default <c>api</c>; may be empty.</summary>
    public string RoutePrefix { get; set; } = "api";

    /// <summary>host.json's <c>workflows.retention</c>: purge policies for finished instances and the job that applies them.</summary>
    internal RetentionOptions Retention { get; } = new();

    /// <summary>Largest accepted request body in bytes (<c>extensions.http.maxRequestBodySize</c>); larger gets 413.</summary>
    public long MaxRequestBodySize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Longest run of an HTTP or timer function (<c>functionTimeout</c>); null: no limit.</summary>
    public TimeSpan? FunctionTimeout { get; set; }

    /// <summary>Log levels by category prefix (<c>logging.logLevel</c>; <c>default</c> is the minimum level).</summary>
    public IDictionary<string, LogLevel> LogLevels { get; } = new Dictionary<string, LogLevel>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Backend (host.json <c>extensions.durableTask.storageProvider.type</c> or app setting
    /// <c>WorkflowsStorageProvider</c>: <c>Workflows</c>, <c>AzureStorage</c> or <c>InMemory</c>).
    /// </summary>
    public HostStorageKind StorageKind { get; set; } = HostStorageKind.Workflows;

    /// <summary>Storage connection string (app setting <c>AzureWebJobsStorage</c>); <c>UseDevelopmentStorage=true</c> is Azurite.</summary>
    public string? StorageConnectionString { get; set; }

    /// <summary>
    /// Blob port of the Azurite that <c>UseDevelopmentStorage=true</c> means (app setting <c>WorkflowsAzuritePort</c>);
    /// the Queue and Table services listen on the next two ports. 10000 (Azurite's default) keeps its data under
    /// .azurite/; any other port under .azurite-{port}/, so two checkouts or a test can run their own emulators.
    /// </summary>
    public int AzuritePort { get; set; } = 10000;

    /// <summary>
    /// Port of the Durable Task gRPC endpoint (the sidecar that Durable Task SDK clients and workers connect to) on
    /// 127.0.0.1 (app setting <c>WorkflowsGrpcPort</c>, <c>./run.sh --grpc-port N</c>). 4001, where the Durable Task
    /// SDKs look for a local sidecar; 0 picks a free port (the address is logged at start-up).
    /// </summary>
    public int GrpcPort { get; set; } = 4001;

    /// <summary>
    /// Whether HTTP endpoints check keys (app setting <c>WorkflowsEnforceKeys</c>). Defaults to true; false only in
    /// local development (<c>AZURE_FUNCTIONS_ENVIRONMENT=Development</c>), and even then only loopback requests
    /// go unchecked.
    /// </summary>
    public bool EnforceKeys { get; set; } = true;

    /// <summary>
    /// Host names besides the loopback ones (<c>localhost</c>, <c>*.localhost</c>, 127.0.0.0/8, <c>[::1]</c>) that
    /// requests may name in their Host header while keys are off, and that browser origins may have (app setting
    /// <c>WorkflowsAllowedHosts</c>, comma-separated). Empty by default: with keys off, only loopback names are served,
    /// which defeats DNS rebinding.
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; set; } = [];

    /// <summary>True in local development (<c>AZURE_FUNCTIONS_ENVIRONMENT=Development</c>, as the Core Tools set it).</summary>
    public bool IsLocalDevelopment { get; set; }

    /// <summary>Folder with host.json and local.settings.json (the function app's root); the worker process runs in it.</summary>
    public string ScriptRoot { get; set; } = Directory.GetCurrentDirectory();

    /// <summary>
    /// The function app's build output: the folder with its <c>worker.config.json</c> and <c>functions.metadata</c>
    /// (app setting <c>WorkflowsAppPath</c>, relative to <see cref="ScriptRoot"/>; default: the script root itself, as
    /// in Azure, where host.json is published next to the app).
    /// </summary>
    public string AppPath { get; set; } = Directory.GetCurrentDirectory();

    /// <summary>Throws <see cref="HostConfigurationException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        CheckRange("extensions.durableTask.maxConcurrentActivityFunctions", MaxConcurrentActivityFunctions, 1, 10_000);
        CheckRange("extensions.durableTask.maxConcurrentOrchestratorFunctions", MaxConcurrentOrchestratorFunctions, 1, 10_000);
        CheckRange("extensions.durableTask.extendedSessionIdleTimeoutInSeconds", ExtendedSessionIdleTimeoutInSeconds, 1, 3_600);
        CheckRange("extensions.durableTask.storageProvider.partitionCount", PartitionCount, 1, 16);
        if (string.IsNullOrEmpty(HubName) || HubName.Length is < 3 or > 45 || !char.IsAsciiLetter(HubName[0]) || !HubName.All(char.IsAsciiLetterOrDigit))
        {
            throw new HostConfigurationException($"extensions.durableTask.hubName must be 3 to 45 letters and digits starting with a letter; got '{HubName}'.");
        }

        if (MaxQueuePollingInterval < TimeSpan.FromMilliseconds(100) || MaxQueuePollingInterval > TimeSpan.FromMinutes(10))
        {
            throw new HostConfigurationException($"extensions.durableTask.storageProvider.maxQueuePollingInterval must be between 00:00:00.1 and 00:10:00; got {MaxQueuePollingInterval}.");
        }

        if (RoutePrefix.Contains('{', StringComparison.Ordinal) || RoutePrefix.Contains('?', StringComparison.Ordinal) || RoutePrefix.StartsWith("runtime", StringComparison.OrdinalIgnoreCase))
        {
            throw new HostConfigurationException($"extensions.http.routePrefix must be a plain path (no parameters, not 'runtime'); got '{RoutePrefix}'.");
        }

        if (MaxRequestBodySize is < 1024 or > 1024L * 1024 * 1024)
        {
            throw new HostConfigurationException($"extensions.http.maxRequestBodySize must be between 1024 and 1073741824 bytes; got {MaxRequestBodySize}.");
        }

        if (FunctionTimeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromDays(1)))
        {
            throw new HostConfigurationException($"functionTimeout must be positive and at most 1.00:00:00 (or -1 for none); got {timeout}.");
        }

        if (!EnforceKeys && !IsLocalDevelopment)
        {
            throw new HostConfigurationException("WorkflowsEnforceKeys=false is allowed only in local development (AZURE_FUNCTIONS_ENVIRONMENT=Development).");
        }

        if (StorageKind != HostStorageKind.InMemory && string.IsNullOrWhiteSpace(StorageConnectionString))
        {
            throw new HostConfigurationException(
                "AzureWebJobsStorage is not set: put it in local.settings.json's Values (UseDevelopmentStorage=true for Azurite) or the environment, or set WorkflowsStorageProvider=InMemory.");
        }
    }

    private static void CheckRange(string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new HostConfigurationException($"{key} must be between {min} and {max}; got {value}.");
        }
    }
}
