using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// The History table: one row per event (partition = instance id, row key = generation and sequence) and one sentinel
/// row per instance whose ETag-checked update is the commit point of an episode. The committed history is exactly the
/// events of the sentinel's <c>Generation</c> with a sequence below its <c>Count</c>.
/// </summary>
/// <remarks>
/// A table transaction holds at most 100 entities, so an episode with more new events writes all but the last 99
/// before its commit point. Those leading rows are written under a key of their own attempt
/// (<c>{generation}:{sequence}:{attempt}</c>) and the first row of the commit transaction names that attempt
/// (<c>Leading</c>): rows of an attempt that lost the race (another worker committed from the same sentinel first) or
/// that died are never read, and can never overwrite rows that someone committed.
/// </remarks>
/// <param name="history">The History table.</param>
/// <param name="payloads">Large payloads.</param>
/// <param name="time">The clock of commit times and holds.</param>
/// <param name="committer">This worker run's name in the sentinels it writes: its worker id (when set) and a part unique to the run.</param>
/// <param name="hold">How long after a commit of this worker its held copies of the committed messages may still show again.</param>
internal sealed class HistoryStore(TableClient history, LargePayloadStore payloads, TimeProvider time, string committer, TimeSpan hold)
{
    /// <summary>Row key of the sentinel.</summary>
    public const string SentinelRowKey = "sentinel";

    /// <summary>Most entities in one table transaction.</summary>
    public const int BatchLimit = 100;

    /// <summary>
    /// The window of envelope ids of recently committed messages kept in the sentinel (<see cref="RememberedIds"/>). One
    /// work item never carries more than half of it, so a commit remembers all of its own for one more full commit.
    /// </summary>
    public const int DefaultRememberedMessageIds = RememberedIds.IdsPerProperty;

    private const string LeadingProperty = "Leading";
    private const string StateProperty = "State";
    private const string StateBlobProperty = "StateBlob";
    private const string StateVersionProperty = "StateVersion";
    private const string CommitsProperty = "Commits";

    /// <summary>How many envelope ids the sentinel remembers (<see cref="DefaultRememberedMessageIds"/>; tests lower it).</summary>
    public int RememberedMessageIds { get; set; } = DefaultRememberedMessageIds;

    /// <summary>Tests only: faults injected between the steps of a commit.</summary>
    public ICommitFaults? Faults { get; set; }

    /// <summary>This worker run's name in the sentinels it writes (<c>CommittedBy</c>, the runs of the remembered ids).</summary>
    public string Committer => committer;

    /// <summary>How many queue messages this worker's next work item on <paramref name="remembered"/> may take (<see cref="RememberedIds.QueueMessageRoom"/>).</summary>
    public int QueueMessageRoom(RememberedIds remembered) => remembered.QueueMessageRoom(committer, time.GetUtcNow(), RememberedMessageIds);

    /// <summary>When the earliest hold that leaves this worker no room on <paramref name="remembered"/> ends.</summary>
    public DateTimeOffset? NextHoldEnd(RememberedIds remembered) => remembered.NextHoldEnd(committer, time.GetUtcNow());

    /// <summary>The instance's sentinel; null when it has no history.</summary>
    public async Task<TableEntity?> ReadSentinelAsync(string instanceId, CancellationToken cancellationToken)
    {
        var response = await history.GetEntityIfExistsAsync<TableEntity>(instanceId, SentinelRowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// The version of the instance state that <paramref name="sentinel"/> holds: the number of the commit that last
    /// changed it (commits of an instance are numbered from 1, zero-padded so that versions order as strings); empty
    /// without a sentinel or a state.
    /// </summary>
    public static string StateVersionOf(TableEntity? sentinel) => sentinel?.GetString(StateVersionProperty) ?? string.Empty;

    /// <summary>The instance state that <paramref name="sentinel"/>'s commit recorded; null when it recorded none.</summary>
    public async Task<InstanceStateUpdate?> ReadStateAsync(TableEntity sentinel, CancellationToken cancellationToken)
    {
        var json = sentinel.GetString(StateBlobProperty) is { Length: > 0 } blob
            ? await payloads.LoadAsync(blob, cancellationToken).ConfigureAwait(false)
            : sentinel.GetString(StateProperty);
        return string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<InstanceStateUpdate>(json, HistorySerializer.Options);
    }

    /// <summary>The committed history that <paramref name="sentinel"/> describes.</summary>
    public async Task<IReadOnlyList<HistoryEvent>> ReadAsync(string instanceId, TableEntity sentinel, CancellationToken cancellationToken)
    {
        var generation = sentinel.GetInt32("Generation") ?? 0;
        var count = sentinel.GetInt32("Count") ?? 0;
        var rows = new TableEntity?[count];
        var attempts = new Dictionary<(int Sequence, string Attempt), TableEntity>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {instanceId} and RowKey ge {RowKey(generation, 0)} and RowKey lt {RowKey(generation, count)}");
        await foreach (var row in history.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var (sequence, attempt) = ParseRowKey(row.RowKey);
            if (attempt is not null)
            {
                attempts[(sequence, attempt)] = row;
                continue;
            }

            rows[sequence] = row;
            if (row.GetString(LeadingProperty) is { Length: > 0 } leading)
            {
                // "{first}:{attempt}": rows first..sequence-1 of this commit were written before it under that attempt.
                var separator = leading.IndexOf(':', StringComparison.Ordinal);
                var first = int.Parse(leading.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture);
                var leadingAttempt = leading[(separator + 1)..];
                for (var s = first; s < sequence; s++)
                {
                    rows[s] = attempts.TryGetValue((s, leadingAttempt), out var leadingRow)
                        ? leadingRow
                        : throw new InvalidDataException($"Instance '{instanceId}': history row {s} of attempt {leadingAttempt} is missing.");
                }
            }
        }

        var events = new List<HistoryEvent>(count);
        for (var sequence = 0; sequence < count; sequence++)
        {
            var row = rows[sequence] ?? throw new InvalidDataException($"Instance '{instanceId}': history row {sequence} of {count} is missing.");
            events.Add(HistorySerializer.DeserializeEvent(row.GetString("Event") ?? await payloads.LoadAsync(row.GetString("EventBlob")!, cancellationToken).ConfigureAwait(false)));
        }

        return events;
    }

    /// <summary>
    /// Writes the commit's new events and then moves the sentinel (ETag-checked) in one transaction with the last ≤ 99
    /// of them: the commit point. Throws <see cref="WorkItemLockLostException"/> when another worker committed first.
    /// <paramref name="processedIds"/> are the envelope ids of the queue messages the commit consumed.
    /// </summary>
    public async Task<TableEntity> AppendAsync(string instanceId, TableEntity? sentinel, OrchestrationCommit commit, IEnumerable<string> processedIds, CancellationToken cancellationToken)
    {
        var generation = sentinel?.GetInt32("Generation") ?? 0;
        var start = sentinel?.GetInt32("Count") ?? 0;
        if (commit.ReplaceHistory)
        {
            generation++;
            start = 0;
        }

        var total = commit.NewEvents.Count;
        var lastBatchRows = Math.Min(total, BatchLimit - 1);
        var leading = total - lastBatchRows;
        var attempt = leading > 0 ? Guid.NewGuid().ToString("N")[..12] : null;
        var rows = new List<TableEntity>(total);
        for (var i = 0; i < total; i++)
        {
            var sequence = start + i;
            var row = new TableEntity(instanceId, i < leading ? RowKey(generation, sequence) + ":" + attempt : RowKey(generation, sequence))
            {
                ["EventType"] = commit.NewEvents[i].GetType().Name,
            };
            var json = HistorySerializer.Serialize(commit.NewEvents[i]);
            if (LargePayloadStore.NeedsBlob(json))
            {
                row["EventBlob"] = await payloads.StoreAsync(instanceId, json, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                row["Event"] = json;
            }

            rows.Add(row);
        }

        if (attempt is not null)
        {
            rows[leading][LeadingProperty] = string.Create(CultureInfo.InvariantCulture, $"{start}:{attempt}");
        }

        // The leading rows are this attempt's alone and invisible until the commit point names them, so they may be
        // written in any order and at once (a 1,000-call fan-out is ten batches).
        var batches = new List<Task>();
        for (var offset = 0; offset < leading; offset += BatchLimit)
        {
            var batch = rows.Skip(offset).Take(Math.Min(BatchLimit, leading - offset))
                .Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)).ToList();
            batches.Add(history.SubmitTransactionAsync(batch, cancellationToken));
        }

        await Task.WhenAll(batches).ConfigureAwait(false);
        if (leading > 0)
        {
            Faults?.Reached(CommitStep.LeadingRowsWritten, instanceId);
        }

        var commits = (sentinel?.GetInt64(CommitsProperty) ?? 0) + 1;
        var now = time.GetUtcNow();
        var newSentinel = new TableEntity(instanceId, SentinelRowKey)
        {
            [CommitsProperty] = commits,
            ["Generation"] = generation,
            ["Count"] = start + total,
            ["ExecutionId"] = commit.ExecutionId,
            ["CommittedBy"] = committer,
            ["CommittedAt"] = now,
        };
        RememberedIds.Of(sentinel).Append(committer, now, now + hold, [.. processedIds], RememberedMessageIds).WriteTo(newSentinel);
        // The committed instance state travels with the commit point, so a crash before the instance row is written
        // can be repaired from it; its version moves only when the state changes (the row is written only then).
        var stateJson = commit.State is { } state ? JsonSerializer.Serialize(state, HistorySerializer.Options) : null;
        if (stateJson is null || (sentinel?.GetString(StateProperty) == stateJson && sentinel.GetString("ExecutionId") == commit.ExecutionId))
        {
            newSentinel[StateProperty] = sentinel?.GetString(StateProperty);
            newSentinel[StateBlobProperty] = sentinel?.GetString(StateBlobProperty);
            newSentinel[StateVersionProperty] = StateVersionOf(sentinel);
        }
        else
        {
            if (LargePayloadStore.NeedsBlob(stateJson))
            {
                newSentinel[StateBlobProperty] = await payloads.StoreAsync(instanceId, stateJson, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                newSentinel[StateProperty] = stateJson;
            }

            newSentinel[StateVersionProperty] = commits.ToString("D12", CultureInfo.InvariantCulture);
        }

        var last = rows.Skip(leading).Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)).ToList();
        last.Add(sentinel is null
            ? new TableTransactionAction(TableTransactionActionType.Add, newSentinel)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, newSentinel, sentinel.ETag));
        try
        {
            var response = await history.SubmitTransactionAsync(last, cancellationToken).ConfigureAwait(false);
            newSentinel.ETag = response.Value[^1].Headers.ETag ?? default;
            return newSentinel;
        }
        catch (TableTransactionFailedException exception) when (exception.Status is 404 or 409 or 412)
        {
            throw new WorkItemLockLostException($"Instance '{instanceId}': history changed under this work item (split brain); nothing was committed.", exception);
        }
    }

    /// <summary>Deletes every history row of the instance (and the sentinel when <paramref name="includeSentinel"/>).</summary>
    public async Task DeleteAsync(string instanceId, bool includeSentinel, CancellationToken cancellationToken)
    {
        var doomed = new List<TableTransactionAction>();
        await foreach (var row in history.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {instanceId}"), select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (includeSentinel || row.RowKey != SentinelRowKey)
            {
                doomed.Add(new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All));
            }
        }

        for (var offset = 0; offset < doomed.Count; offset += BatchLimit)
        {
            await history.SubmitTransactionAsync(doomed.Skip(offset).Take(BatchLimit), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Row key of an event: generation and sequence, zero-padded so that keys sort in history order.</summary>
    private static string RowKey(int generation, int sequence) =>
        generation.ToString("D8", CultureInfo.InvariantCulture) + ":" + sequence.ToString("D10", CultureInfo.InvariantCulture);

    /// <summary>The sequence of a row key and its attempt (null for a row written at a commit point).</summary>
    private static (int Sequence, string? Attempt) ParseRowKey(string rowKey)
    {
        // "GGGGGGGG:SSSSSSSSSS[:attempt]"
        var sequence = int.Parse(rowKey.AsSpan(9, 10), NumberStyles.None, CultureInfo.InvariantCulture);
        return (sequence, rowKey.Length > 20 ? rowKey[20..] : null);
    }
}
