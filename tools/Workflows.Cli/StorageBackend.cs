using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.DurableTask;
using Workflows.DurableTask.Client;

namespace Workflows.Cli;

/// <summary>
/// The commands straight against a task hub's storage, no host needed: the backend's client (our
/// <see cref="TaskHubOrchestrationService"/> or DTFx's <see cref="AzureStorageOrchestrationService"/>) under the
/// official <see cref="DurableTaskClient"/>, with the host's data converter, answering the HTTP API's JSON documents
/// (<see cref="InstanceStatusJson"/>) and refusing what the HTTP API refuses, with the same messages. A client only:
/// it takes no partition lease and runs nothing; it never creates a task hub (the host does, when it first starts).
/// </summary>
internal sealed class StorageBackend : IDurableBackend
{
    private const int MaxPageSize = 1000;

    private static readonly OrchestrationRuntimeStatus[] FinishedStatuses = [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated];

    /// <summary>What the start will not start over, as the host's starter: a live instance of the id is refused.</summary>
    private static readonly OrchestrationRuntimeStatus[] LiveStatuses = [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended];

    private readonly IOrchestrationService _service;
    private readonly OrchestrationServiceDurableTaskClient _client;
    private readonly HubStorage _hub;

    private StorageBackend(StorageTarget target, HubStorage hub)
    {
        Target = target;
        _hub = hub;
        IOrchestrationServiceClient serviceClient;
        Func<string, string?, Task>? rewind = null;
        if (target.Provider == StorageProvider.AzureStorage)
        {
            var dtfx = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
            {
                StorageAccountClientProvider = new StorageAccountClientProvider(target.ConnectionString),
                TaskHubName = target.TaskHubName,
                PartitionCount = target.PartitionCount,
            });
            (_service, serviceClient, rewind) = (dtfx, dtfx, dtfx.RewindTaskOrchestrationAsync);
        }
        else
        {
            // No WorkerId: that names a worker that holds partitions; a client only reads the tables and writes messages.
            var options = new AzureStorageOptions { ConnectionString = target.ConnectionString, TaskHubName = target.TaskHubName, PartitionCount = target.PartitionCount };
            options.Validate();
            var ours = new TaskHubOrchestrationService(options);
            (_service, serviceClient) = (ours, ours);
        }

        _client = new OrchestrationServiceDurableTaskClient(serviceClient, new OrchestrationServiceClientOptions { DataConverter = WebJsonDataConverter.Instance, Rewind = rewind });
    }

    public StorageTarget Target { get; }

    /// <summary>Opens the target's task hub: a clear error when storage does not answer or the hub does not exist.</summary>
    public static async Task<StorageBackend> OpenAsync(StorageTarget target, CancellationToken cancellationToken)
    {
        var hub = new HubStorage(target);
        if (!await hub.HubExistsAsync(cancellationToken))
        {
            throw hub.NoHub();
        }

        // Messages go to the control queue of the instance's partition: the hub's own count, whatever host.json says here.
        var partitions = await hub.ControlQueueCountAsync(cancellationToken);
        return new StorageBackend(partitions > 0 ? target.WithPartitionCount(partitions) : target, hub);
    }

    /// <summary>
    /// Deletes the task hub's tables, queues and containers (the backend's <c>DeleteAsync</c>, then what it left of the
    /// hub's names) and returns their names; null when there is no such hub. The host's own container (<c>{hub}-host</c>: keys, timer schedules) stays.
    /// </summary>
    public static async Task<IReadOnlyList<string>?> DeleteTaskHubAsync(StorageTarget target, CancellationToken cancellationToken)
    {
        var hub = new HubStorage(target);
        if (!await hub.HubExistsAsync(cancellationToken))
        {
            return null;
        }

        await using var backend = new StorageBackend(target, hub);
        return await hub.GuardAsync(async () =>
        {
            var before = await hub.ResourcesAsync(cancellationToken);
            await backend._service.DeleteAsync(deleteInstanceStore: true);

            // DTFx's delete leaves its app lease container ({hub}-applease): whatever of the hub is left goes too.
            await hub.DeleteAsync(await hub.ResourcesAsync(cancellationToken), cancellationToken);
            var after = await hub.ResourcesAsync(cancellationToken);
            return (IReadOnlyList<string>)[.. before.Except(after, StringComparer.Ordinal)];
        });
    }

    public Task<ApiAnswer> StartAsync(string orchestrator, string? instanceId, string? inputJson, CancellationToken cancellationToken) =>
        _hub.GuardAsync(async () =>
        {
            if (instanceId is not null)
            {
                try
                {
                    InstanceIds.Validate(instanceId);
                }
                catch (ArgumentException exception)
                {
                    throw new CliException(ExitCodes.Refused, "Bad request: " + exception.Message);
                }
            }

            try
            {
                var id = await _client.ScheduleNewOrchestrationInstanceAsync(
                    orchestrator, Json(inputJson), new StartOrchestrationOptions(instanceId) { DedupeStatuses = [.. LiveStatuses.Select(static s => s.ToString())] }, cancellationToken);
                return Ok(new JsonObject { ["id"] = id });
            }
            catch (global::DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException exception)
            {
                throw new CliException(ExitCodes.Refused, "Instance exists: " + exception.Message);
            }
        });

    public Task<ApiAnswer> GetAsync(string instanceId, bool showInput, bool showHistory, CancellationToken cancellationToken) =>
        _hub.GuardAsync(async () =>
        {
            var metadata = await RequireAsync(instanceId, cancellationToken);
            var history = showHistory ? await _client.GetOrchestrationHistoryAsync(instanceId, cancellationToken) : null;
            return Ok(InstanceStatusJson.Create(metadata, showInput || showHistory, history, showHistoryOutput: showHistory));
        });

    public Task<ApiAnswer> ListAsync(InstanceFilter filter, int? top, string? continuationToken, CancellationToken cancellationToken) =>
        _hub.GuardAsync(async () =>
        {
            var statuses = Statuses(filter.Statuses);
            var size = top ?? 100;
            if (size is < 1 or > MaxPageSize)
            {
                throw new CliException(ExitCodes.Refused, $"Bad request: top must be an integer between 1 and {MaxPageSize}; got '{size}'.");
            }

            Page<OrchestrationMetadata>? page = null;
            try
            {
                var query = new OrchestrationQuery
                {
                    CreatedFrom = filter.CreatedFrom,
                    CreatedTo = filter.CreatedTo,
                    Statuses = statuses,
                    InstanceIdPrefix = filter.IdPrefix is { Length: > 0 } prefix ? prefix : null,
                    PageSize = size,
                    FetchInputsAndOutputs = true,
                };
                var pages = _client.GetAllInstancesAsync(query, filter.NamePrefix).AsPages(continuationToken, size);
                await foreach (var first in pages.WithCancellation(cancellationToken))
                {
                    page = first;
                    break;
                }
            }
            catch (Exception exception) when (continuationToken is not null && exception is ArgumentException or FormatException or Newtonsoft.Json.JsonException or JsonException)
            {
                throw new CliException(ExitCodes.Refused, "Bad request: --continuation-token is not a token this task hub issued; pass the value a previous page printed.");
            }

            var items = new JsonArray();
            foreach (var instance in page?.Values ?? [])
            {
                items.Add(InstanceStatusJson.Create(instance, showInput: false));
            }

            return new ApiAnswer(HttpStatusCode.OK, items.ToJsonString(), page?.ContinuationToken is { Length: > 0 } next ? next : null);
        });

    public Task RaiseEventAsync(string instanceId, string eventName, string? dataJson, CancellationToken cancellationToken) =>
        OnUnfinishedAsync(instanceId, () => _client.RaiseEventAsync(instanceId, eventName, Json(dataJson), cancellationToken), cancellationToken);

    public Task OperateAsync(string instanceId, string operation, string? reason, CancellationToken cancellationToken) => operation switch
    {
        "terminate" => OnUnfinishedAsync(instanceId, () => _client.TerminateInstanceAsync(instanceId, reason, cancellationToken), cancellationToken),
        "suspend" => OnUnfinishedAsync(instanceId, () => _client.SuspendInstanceAsync(instanceId, reason, cancellationToken), cancellationToken),
        "resume" => OnUnfinishedAsync(instanceId, () => _client.ResumeInstanceAsync(instanceId, reason, cancellationToken), cancellationToken),
        "rewind" => _hub.GuardAsync(async () =>
        {
            var metadata = await RequireAsync(instanceId, cancellationToken);
            if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Failed)
            {
                throw new CliException(
                    ExitCodes.Refused,
                    $"Instance is not in a state for this operation: Only a Failed instance can be rewound; instance '{instanceId}' is {metadata.RuntimeStatus}.");
            }

            await _client.RewindInstanceAsync(instanceId, reason ?? string.Empty, cancellationToken);
            return true;
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "Not an instance operation."),
    };

    public Task<ApiAnswer> PurgeAsync(string instanceId, CancellationToken cancellationToken) =>
        _hub.GuardAsync(async () =>
        {
            var metadata = await RequireAsync(instanceId, cancellationToken);
            if (!metadata.IsCompleted)
            {
                throw new CliException(ExitCodes.Refused, $"Instance is running: Instance '{instanceId}' is {metadata.RuntimeStatus}; terminate it before purging.");
            }

            var purged = await _client.PurgeInstanceAsync(instanceId, cancellation: cancellationToken);
            return purged.PurgedInstanceCount > 0 ? Deleted(purged.PurgedInstanceCount) : throw NoInstance(instanceId);
        });

    public Task<ApiAnswer> PurgeManyAsync(InstanceFilter filter, CancellationToken cancellationToken) =>
        _hub.GuardAsync(async () =>
        {
            var statuses = Statuses(filter.Statuses);
            if (statuses?.Where(static s => !FinishedStatuses.Contains(s)).Select(static s => (OrchestrationRuntimeStatus?)s).FirstOrDefault() is { } live)
            {
                throw new CliException(ExitCodes.Refused, $"Bad request: Only finished instances are purged; runtimeStatus {live} is not one of {string.Join(", ", FinishedStatuses)}.");
            }

            var purged = await _client.PurgeAllInstancesAsync(new PurgeInstancesFilter(filter.CreatedFrom, filter.CreatedTo, statuses ?? [.. FinishedStatuses]), cancellation: cancellationToken);
            return Deleted(purged.PurgedInstanceCount);
        });

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        switch (_service)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    private static ApiAnswer Ok(JsonNode body) => new(HttpStatusCode.OK, body.ToJsonString(), null);

    private static ApiAnswer Deleted(int count) => Ok(new JsonObject { ["instancesDeleted"] = count });

    private static CliException NoInstance(string instanceId) => new(ExitCodes.NotFound, $"no instance '{instanceId}'");

    /// <summary>A JSON text as the value the host would have passed on: the parsed element (null for none).</summary>
    private static JsonElement? Json(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>The statuses given, parsed as the HTTP API parses its <c>runtimeStatus</c> parameter; null when none.</summary>
    private static List<OrchestrationRuntimeStatus>? Statuses(IReadOnlyList<string> given)
    {
        List<OrchestrationRuntimeStatus>? statuses = null;
        foreach (var raw in given.SelectMany(static v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!Enum.TryParse<OrchestrationRuntimeStatus>(raw, ignoreCase: true, out var status) || !Enum.IsDefined(status) || int.TryParse(raw, out _))
            {
                throw new CliException(ExitCodes.Refused, $"Bad request: runtimeStatus '{raw}' is not one of {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.");
            }

            (statuses ??= []).Add(status);
        }

        return statuses;
    }

    private async Task<OrchestrationMetadata> RequireAsync(string instanceId, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken) ?? throw NoInstance(instanceId);
        }
        catch (ArgumentException)
        {
            // An id no instance can have (InstanceIds' rules) names no instance either.
            throw NoInstance(instanceId);
        }
    }

    /// <summary>Runs an operation on an unfinished instance, as the HTTP API: unknown is not found, finished is refused.</summary>
    private Task<bool> OnUnfinishedAsync(string instanceId, Func<Task> operation, CancellationToken cancellationToken) =>
        _hub.GuardAsync(async () =>
        {
            var metadata = await RequireAsync(instanceId, cancellationToken);
            if (metadata.IsCompleted)
            {
                throw new CliException(ExitCodes.Refused, $"Instance is not in a state for this operation: Instance '{instanceId}' has finished ({metadata.RuntimeStatus}).");
            }

            await operation();
            return true;
        });
}
