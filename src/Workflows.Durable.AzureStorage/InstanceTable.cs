using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// The Instances table: one row per instance (partition = instance id, empty row key) that status queries read. The row
/// is a projection of the instance's committed history: each state write carries the history version it was committed
/// at (<see cref="HistoryStore.StateVersionOf"/>) and never replaces a row written at a later version, so a worker that
/// was paused past its lease cannot put an instance's status back.
/// </summary>
internal sealed class InstanceTable(TableClient instances, LargePayloadStore payloads, TimeProvider time, ILogger logger)
{
    /// <summary>Bound of the row ETag cache: past it the cache starts over (it only saves reads).</summary>
    private const int MaxCachedRows = 10_000;

    private const string StateVersionProperty = "StateVersion";

    private readonly Lock _gate = new();

    /// <summary>The ETag and state version of the row as this worker last wrote or read it.</summary>
    private readonly Dictionary<string, (ETag ETag, string Version)> _known = new(StringComparer.Ordinal);

    public TableClient Client => instances;

    /// <summary>The runtime status a row records.</summary>
    public static OrchestrationRuntimeStatus Status(TableEntity row) =>
        Enum.Parse<OrchestrationRuntimeStatus>(row.GetString("RuntimeStatus") ?? nameof(OrchestrationRuntimeStatus.Pending));

    /// <summary>The history version of the state a row holds (empty for a row no episode has written yet).</summary>
    public static string StateVersionOf(TableEntity row) => row.GetString(StateVersionProperty) ?? string.Empty;

    public async Task<TableEntity?> ReadAsync(string instanceId, CancellationToken cancellationToken)
    {
        var response = await instances.GetEntityIfExistsAsync<TableEntity>(instanceId, string.Empty, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!response.HasValue || response.Value is not { } row)
        {
            return null;
        }

        Remember(instanceId, row.ETag, StateVersionOf(row));
        return row;
    }

    /// <summary>
    /// Writes the row of a new instance (Pending), replacing <paramref name="existing"/> (a finished instance) when given.
    /// Throws <see cref="OrchestrationAlreadyExistsException"/> when another writer created or replaced it first.
    /// </summary>
    public async Task WriteNewAsync(ExecutionStarted started, TableEntity? existing, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var row = new TableEntity(started.InstanceId, string.Empty)
        {
            ["Name"] = started.Name,
            ["NameLower"] = started.Name.ToLowerInvariant(),
            ["ExecutionId"] = started.ExecutionId,
            ["RuntimeStatus"] = nameof(OrchestrationRuntimeStatus.Pending),
            ["CreatedTime"] = now,
            ["LastUpdatedTime"] = now,
            ["ScheduledStartTime"] = started.ScheduledStartTime is { } at ? new DateTimeOffset(at, TimeSpan.Zero) : null,
            ["ParentInstanceId"] = started.ParentInstance?.InstanceId,
            ["ParentCall"] = ParentCall(started.ParentInstance),
            ["Version"] = started.Version ?? string.Empty,
            [StateVersionProperty] = string.Empty,
        };
        await SetPayloadAsync(row, "Input", started.InstanceId, started.Input, cancellationToken).ConfigureAwait(false);
        await SetPayloadAsync(row, "Tags", started.InstanceId, TagsJson(started.Tags), cancellationToken).ConfigureAwait(false);
        try
        {
            var response = existing is null
                ? await instances.AddEntityAsync(row, cancellationToken).ConfigureAwait(false)
                : await instances.UpdateEntityAsync(row, existing.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            Remember(started.InstanceId, response.Headers.ETag ?? default, string.Empty);
        }
        catch (RequestFailedException exception) when (exception.Status is 409 or 412)
        {
            var current = await ReadAsync(started.InstanceId, cancellationToken).ConfigureAwait(false);
            throw new OrchestrationAlreadyExistsException(started.InstanceId, current is null ? OrchestrationRuntimeStatus.Pending : Status(current));
        }
    }

    /// <summary>
    /// True when <paramref name="existing"/> is the instance that <paramref name="child"/> would create: the same call of
    /// the same parent execution started it before (a parent episode that is retried sends its starts again).
    /// </summary>
    public static bool StartedBySameCall(TableEntity existing, ExecutionStarted child) =>
        child.ParentInstance is { } parent
        && string.Equals(existing.GetString("ParentInstanceId"), parent.InstanceId, StringComparison.Ordinal)
        && string.Equals(existing.GetString("ParentCall"), ParentCall(parent), StringComparison.Ordinal);

    /// <summary>
    /// Writes the state an episode committed at history version <paramref name="version"/>, unless the row already holds
    /// that version or a later one. Guarded by the row's ETag, so two writers cannot interleave.
    /// </summary>
    public async Task WriteStateAsync(string instanceId, string executionId, InstanceStateUpdate update, string version, CancellationToken cancellationToken)
    {
        var row = new TableEntity(instanceId, string.Empty)
        {
            ["Name"] = update.Name,
            ["NameLower"] = update.Name.ToLowerInvariant(),
            ["ExecutionId"] = executionId,
            ["RuntimeStatus"] = update.Status.ToString(),
            ["LastUpdatedTime"] = time.GetUtcNow(),
            // A merge leaves a property alone when the new value is null, so "none" is written as an empty string
            // (read back as null): a rewound or restarted instance must not keep its old failure or output.
            ["ParentInstanceId"] = update.ParentInstanceId ?? string.Empty,
            ["Version"] = update.Version ?? string.Empty,
            [StateVersionProperty] = version,
        };
        await SetPayloadAsync(row, "Input", instanceId, update.Input, cancellationToken).ConfigureAwait(false);
        await SetPayloadAsync(row, "Output", instanceId, update.Output, cancellationToken).ConfigureAwait(false);
        await SetPayloadAsync(row, "CustomStatus", instanceId, update.CustomStatus, cancellationToken).ConfigureAwait(false);
        await SetPayloadAsync(row, "Tags", instanceId, TagsJson(update.Tags), cancellationToken).ConfigureAwait(false);

        // A failure's stack trace can pass a table property's 64 KB (deep recursion): it goes to a blob as a payload does.
        await SetPayloadAsync(row, "FailureDetails", instanceId, update.FailureDetails is null ? null : JsonSerializer.Serialize(update.FailureDetails, HistorySerializer.Options), cancellationToken).ConfigureAwait(false);

        var known = Known(instanceId);
        while (true)
        {
            if (known is null)
            {
                var current = await ReadAsync(instanceId, cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    // The row is gone (purged while it ran): the committed state brings it back.
                    try
                    {
                        var added = await instances.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
                        Remember(instanceId, added.Headers.ETag ?? default, version);
                        return;
                    }
                    catch (RequestFailedException exception) when (exception.Status == 409)
                    {
                        // Brought back by another writer meanwhile: read it again and compare versions.
                        TaskHubLog.InstanceRowChangedMeanwhile(logger, instanceId, exception.Status);
                        continue;
                    }
                }

                known = (current.ETag, StateVersionOf(current));
            }

            if (string.CompareOrdinal(known.Value.Version, version) >= 0)
            {
                return;
            }

            try
            {
                var response = await instances.UpdateEntityAsync(row, known.Value.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                Remember(instanceId, response.Headers.ETag ?? default, version);
                return;
            }
            catch (RequestFailedException exception) when (exception.Status is 404 or 412)
            {
                // Someone else wrote the row since this worker last saw it: read it again and compare versions.
                TaskHubLog.InstanceRowChangedMeanwhile(logger, instanceId, exception.Status);
                known = null;
            }
        }
    }

    /// <summary>Deletes the row if it is still <paramref name="row"/> (ETag-checked).</summary>
    public async Task DeleteAsync(TableEntity row, CancellationToken cancellationToken)
    {
        await instances.DeleteEntityAsync(row.PartitionKey, string.Empty, row.ETag, cancellationToken).ConfigureAwait(false);
        Forget(row.PartitionKey);
    }

    /// <summary>Drops what this worker knows of the row (another worker owns the instance now).</summary>
    public void Forget(string instanceId)
    {
        lock (_gate)
        {
            _known.Remove(instanceId);
        }
    }

    public async Task<OrchestrationMetadata> ToMetadataAsync(TableEntity row, bool withPayloads, CancellationToken cancellationToken) => new()
    {
        Name = row.GetString("Name") ?? string.Empty,
        InstanceId = row.PartitionKey,
        ExecutionId = row.GetString("ExecutionId") ?? string.Empty,
        RuntimeStatus = Status(row),
        CreatedAt = row.GetDateTimeOffset("CreatedTime") ?? DateTimeOffset.MinValue,
        LastUpdatedAt = row.GetDateTimeOffset("LastUpdatedTime") ?? DateTimeOffset.MinValue,
        ScheduledStartTime = row.GetDateTimeOffset("ScheduledStartTime"),
        ParentInstanceId = NullIfEmpty(row.GetString("ParentInstanceId")),
        SerializedInput = withPayloads ? await GetPayloadAsync(row, "Input", cancellationToken).ConfigureAwait(false) : null,
        SerializedOutput = withPayloads ? await GetPayloadAsync(row, "Output", cancellationToken).ConfigureAwait(false) : null,
        SerializedCustomStatus = withPayloads ? await GetPayloadAsync(row, "CustomStatus", cancellationToken).ConfigureAwait(false) : null,
        FailureDetails = await GetPayloadAsync(row, "FailureDetails", cancellationToken).ConfigureAwait(false) is { } failure ? JsonSerializer.Deserialize<FailureDetails>(failure, HistorySerializer.Options) : null,
        Version = NullIfEmpty(row.GetString("Version")),
        Tags = await GetPayloadAsync(row, "Tags", cancellationToken).ConfigureAwait(false) is { } tags ? JsonSerializer.Deserialize<Dictionary<string, string>>(tags, HistorySerializer.Options) : null,
    };

    /// <summary>The tags as a JSON object, or null for none; stored like a payload (in a blob when large).</summary>
    private static string? TagsJson(IReadOnlyDictionary<string, string>? tags) =>
        tags is { Count: > 0 } ? JsonSerializer.Serialize(tags, HistorySerializer.Options) : null;

    private static string ParentCall(ParentInstanceInfo? parent) => parent is null ? string.Empty : $"{parent.ExecutionId}:{parent.TaskScheduledId}";

    private (ETag ETag, string Version)? Known(string instanceId)
    {
        lock (_gate)
        {
            return _known.TryGetValue(instanceId, out var known) ? known : null;
        }
    }

    private void Remember(string instanceId, ETag etag, string version)
    {
        lock (_gate)
        {
            if (_known.Count >= MaxCachedRows && !_known.ContainsKey(instanceId))
            {
                _known.Clear();
            }

            _known[instanceId] = (etag, version);
        }
    }

    private async Task SetPayloadAsync(TableEntity row, string name, string instanceId, string? value, CancellationToken cancellationToken)
    {
        if (LargePayloadStore.NeedsBlob(value))
        {
            row[name] = string.Empty;
            row[name + "Blob"] = await payloads.StoreAsync(instanceId, value!, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            row[name] = value ?? string.Empty;
            row[name + "Blob"] = string.Empty;
        }
    }

    private async Task<string?> GetPayloadAsync(TableEntity row, string name, CancellationToken cancellationToken) =>
        row.GetString(name + "Blob") is { Length: > 0 } blob ? await payloads.LoadAsync(blob, cancellationToken).ConfigureAwait(false) : NullIfEmpty(row.GetString(name));

    /// <summary>Payloads are JSON (never empty), so an empty string stands for "none" (see <see cref="WriteStateAsync"/>).</summary>
    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
