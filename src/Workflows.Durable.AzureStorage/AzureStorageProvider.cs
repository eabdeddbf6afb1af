using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Task hub on Azure Storage (Azurite locally): an Instances table row per instance, History table rows per
/// event, control queues for orchestration messages, a work-item queue for activities, blobs for large payloads.
/// See COMMIT-PROTOCOL.md for the order of writes and why a crash loses nothing.
/// </summary>
/// <remarks>
/// Any number of workers share a hub: each owns a share of the control-queue partitions by blob lease
/// (<see cref="PartitionLeaseManager"/>) and only polls and locks instances of its own partitions. Clients
/// that never fetch work items take no leases.
/// </remarks>
public sealed class AzureStorageProvider : IStorageProvider, IAsyncDisposable
{
    private const string SentinelRowKey = "sentinel";
    private const int BatchLimit = 100;

    /// <summary>Envelope ids of recently committed messages kept in the sentinel (32 characters each, well within a 64 KB property).</summary>
    private const int MaxRememberedMessageIds = 800;
    private static readonly TimeSpan MaxQueueDelay = TimeSpan.FromDays(6);
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(10);

    private readonly TaskHubClients _clients;
    private readonly LargePayloadStore _payloads;
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxPollingInterval;
    private readonly TimeSpan _lockTimeout;
    private readonly int _maxDequeueCount;
    private readonly PartitionLeaseManager? _leases;
    private readonly SharedPoller _controlPoller;
    private readonly SharedPoller _activityPoller;
    private readonly SemaphoreSlim _leaseStart = new(1, 1);
    private bool _leasesStarted;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, InstanceBuffer> _buffers = new(StringComparer.Ordinal);
    private readonly Queue<ReceivedActivity> _activities = new();
    private TaskCompletionSource _localSend = NewSignal();
    private long _nextToken;

    /// <summary>Creates the provider; call <see cref="CreateIfNotExistsAsync"/> (the worker does) before use.</summary>
    public AzureStorageProvider(AzureStorageOptions options, TimeProvider? timeProvider = null, TimeSpan? lockTimeout = null)
        : this(options, timeProvider, lockTimeout, usePartitionLeases: true)
    {
    }

    /// <summary>Tests only: without leases, every provider instance polls every partition (to provoke split brain).</summary>
    internal AzureStorageProvider(AzureStorageOptions options, TimeProvider? timeProvider, TimeSpan? lockTimeout, bool usePartitionLeases)
    {
        ArgumentNullException.ThrowIfNull(options);
        _clients = new TaskHubClients(options);
        _payloads = new LargePayloadStore(_clients.LargeMessages);
        _time = timeProvider ?? TimeProvider.System;
        _maxPollingInterval = options.MaxQueuePollingInterval;
        _lockTimeout = lockTimeout ?? TimeSpan.FromMinutes(5);
        _maxDequeueCount = options.MaxDequeueCount;
        _controlPoller = new SharedPoller(ReceiveControlMessagesAsync, LocalSendTask, MinPollingInterval, _maxPollingInterval, _time);
        _activityPoller = new SharedPoller(ReceiveActivitiesAsync, LocalSendTask, MinPollingInterval, _maxPollingInterval, _time);
        if (usePartitionLeases)
        {
            _leases = new PartitionLeaseManager(_clients, options, _time, CanReleasePartition, ReleaseBufferedAsync);
        }
    }

    /// <summary>Partitions this provider currently owns (all of them when leases are off).</summary>
    public IReadOnlyCollection<int> OwnedPartitions => _leases?.Owned ?? Enumerable.Range(0, _clients.ControlQueues.Count).ToArray();

    /// <summary>Releases the partition leases (so other workers take over at once) and stops renewing them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_leases is not null && _leasesStarted)
        {
            await _leases.DisposeAsync();
        }

        _leaseStart.Dispose();
    }

    /// <summary>Tests only: stop a commit after its history and state writes, as a crash there would.</summary>
    internal bool SimulateCrashBeforeMessageDeletion { get; set; }

    /// <summary>Tests only: stop a commit right after its commit point, before the instance row is written.</summary>
    internal bool SimulateCrashAfterHistoryCommit { get; set; }

    /// <summary>The hub's clients, names and transaction counter.</summary>
    public TaskHubClients Clients => _clients;

    /// <inheritdoc/>
    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => _clients.CreateIfNotExistsAsync(cancellationToken);

    // ---- client operations ------------------------------------------------------------------------------

    /// <inheritdoc/>
    public async Task CreateInstanceAsync(OrchestrationMessage executionStarted, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(executionStarted);
        if (executionStarted.Event is not ExecutionStarted started)
        {
            throw new ArgumentException("CreateInstanceAsync needs an ExecutionStarted message.", nameof(executionStarted));
        }

        var existing = await ReadInstanceRowAsync(started.InstanceId, cancellationToken);
        if (existing is not null && !Status(existing).IsTerminal())
        {
            throw new OrchestrationAlreadyExistsException(started.InstanceId, Status(existing));
        }

        await WriteNewInstanceAsync(started, existing, cancellationToken);
        await SendAsync(executionStarted, cancellationToken);
    }

    /// <inheritdoc/>
    public Task SendMessageAsync(OrchestrationMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return SendAsync(message, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool fetchInputsAndOutputs, CancellationToken cancellationToken = default)
    {
        var row = await ReadInstanceRowAsync(instanceId, cancellationToken);
        return row is null ? null : await ToMetadataAsync(row, fetchInputsAndOutputs, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var sentinel = await ReadSentinelAsync(instanceId, cancellationToken);
        return sentinel is null ? [] : await ReadHistoryAsync(instanceId, sentinel, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<OrchestrationQueryResult> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var filters = new List<string> { "RowKey eq ''" };
        if (query.InstanceIdPrefix is { Length: > 0 } idPrefix)
        {
            filters.Add(TableClient.CreateQueryFilter($"PartitionKey ge {idPrefix} and PartitionKey lt {idPrefix + '\uffff'}"));
        }

        if (query.NamePrefix is { Length: > 0 } namePrefix)
        {
            var lower = namePrefix.ToLowerInvariant();
            filters.Add(TableClient.CreateQueryFilter($"NameLower ge {lower} and NameLower lt {lower + '\uffff'}"));
        }

        if (query.CreatedFrom is { } from)
        {
            filters.Add(TableClient.CreateQueryFilter($"CreatedTime ge {from}"));
        }

        if (query.CreatedTo is { } to)
        {
            filters.Add(TableClient.CreateQueryFilter($"CreatedTime le {to}"));
        }

        if (query.Statuses is { Count: > 0 } statuses)
        {
            filters.Add("(" + string.Join(" or ", statuses.Select(s => TableClient.CreateQueryFilter($"RuntimeStatus eq {s.ToString()}"))) + ")");
        }

        var pages = _clients.Instances.QueryAsync<TableEntity>(string.Join(" and ", filters), query.PageSize, cancellationToken: cancellationToken)
            .AsPages(query.ContinuationToken, query.PageSize);
        await foreach (var page in pages)
        {
            var instances = new List<OrchestrationMetadata>(page.Values.Count);
            foreach (var row in page.Values)
            {
                instances.Add(await ToMetadataAsync(row, query.FetchInputsAndOutputs, cancellationToken));
            }

            return new OrchestrationQueryResult(instances, page.ContinuationToken);
        }

        return new OrchestrationQueryResult([], null);
    }

    /// <inheritdoc/>
    public async Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var row = await ReadInstanceRowAsync(instanceId, cancellationToken);
        if (row is null || !Status(row).IsTerminal())
        {
            return false;
        }

        await DeleteHistoryAsync(instanceId, includeSentinel: true, cancellationToken);
        await _payloads.DeleteInstanceAsync(instanceId, cancellationToken);
        await _clients.Instances.DeleteEntityAsync(instanceId, string.Empty, row.ETag, cancellationToken);
        return true;
    }

    /// <inheritdoc/>
    public async Task<int> PurgeInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var statuses = filter.Statuses is { Count: > 0 } s ? s : [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated, OrchestrationRuntimeStatus.Canceled];
        var purged = 0;
        string? token = null;
        do
        {
            var page = await QueryInstancesAsync(new OrchestrationQuery { CreatedFrom = filter.CreatedFrom, CreatedTo = filter.CreatedTo, Statuses = statuses, PageSize = OrchestrationQuery.MaxPageSize, ContinuationToken = token }, cancellationToken);
            foreach (var instance in page.Instances)
            {
                if (await PurgeInstanceAsync(instance.InstanceId, cancellationToken))
                {
                    purged++;
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);

        return purged;
    }

    /// <inheritdoc/>
    public async Task<OrchestrationMetadata> WaitForInstanceAsync(
        string instanceId,
        Func<OrchestrationMetadata, bool> condition,
        bool fetchInputsAndOutputs,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var delay = MinPollingInterval;
        while (true)
        {
            if (await GetInstanceAsync(instanceId, fetchInputsAndOutputs, cancellationToken) is { } metadata && condition(metadata))
            {
                return metadata;
            }

            await Task.Delay(delay, _time, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    // ---- orchestration work items -----------------------------------------------------------------------

    /// <inheritdoc/>
    public async Task<OrchestrationWorkItem> LockNextOrchestrationWorkItemAsync(CancellationToken cancellationToken)
    {
        await EnsureLeasesAsync(cancellationToken);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var item = await TryLockBufferedInstanceAsync(cancellationToken);
            if (item is not null)
            {
                return item;
            }

            await _controlPoller.PollOrWaitAsync(cancellationToken);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var state = (InstanceLock)workItem.LockState;
        return state.Sentinel is null ? [] : await ReadHistoryAsync(workItem.InstanceId, state.Sentinel, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<string> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(commit);
        var state = (InstanceLock)workItem.LockState;
        RequireLock(workItem.InstanceId, state);

        // 1. Outgoing messages first: a crash after this point re-runs the episode, and the duplicates it sends
        //    are dropped by their receivers (activities are at-least-once; results and starts are de-duplicated).
        foreach (var message in commit.OrchestrationMessages)
        {
            if (message.Event is ExecutionStarted { ParentInstance: not null } child)
            {
                await CreateChildIfAbsentAsync(child, cancellationToken);
            }

            await SendAsync(message, cancellationToken);
        }

        foreach (var activity in commit.ActivityMessages)
        {
            await SendActivityAsync(activity, cancellationToken);
        }

        // 2. History, guarded by the sentinel's ETag: the sentinel update is the commit point.
        var etag = state.Sentinel?.ETag.ToString() ?? string.Empty;
        if (commit.ReplaceHistory || commit.NewEvents.Count > 0)
        {
            etag = await AppendHistoryAsync(workItem.InstanceId, state.Sentinel, commit, state.Messages.Select(m => m.EnvelopeId), cancellationToken);
        }

        if (SimulateCrashAfterHistoryCommit)
        {
            return etag;
        }

        // 3. Instance state.
        if (commit.State is { } update)
        {
            await WriteInstanceStateAsync(workItem.InstanceId, commit.ExecutionId, update, cancellationToken);
        }

        // 4. Only now are the processed messages removed from their queues.
        if (SimulateCrashBeforeMessageDeletion)
        {
            return etag;
        }

        foreach (var received in state.Messages)
        {
            await DeleteQuietlyAsync(received.Queue, received.MessageId, received.PopReceipt, cancellationToken);
        }

        Unlock(workItem.InstanceId, state, requeue: null);
        return etag;
    }

    /// <inheritdoc/>
    public Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var state = (InstanceLock)workItem.LockState;
        RequireLock(workItem.InstanceId, state);
        Unlock(workItem.InstanceId, state, requeue: state.Messages);
        return Task.CompletedTask;
    }

    // ---- activity work items ----------------------------------------------------------------------------

    /// <inheritdoc/>
    public async Task<ActivityWorkItem> LockNextActivityWorkItemAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (_gate)
            {
                if (_activities.TryDequeue(out var ready))
                {
                    return ready.ToWorkItem();
                }
            }

            await _activityPoller.PollOrWaitAsync(cancellationToken);
        }
    }

    /// <summary>Receives a batch of activity requests into the local queue; returns how many arrived.</summary>
    private async Task<int> ReceiveActivitiesAsync(CancellationToken cancellationToken)
    {
        var received = await _clients.WorkItems.ReceiveMessagesAsync(32, _lockTimeout, cancellationToken);
        foreach (var message in received.Value)
        {
            QueueEnvelope envelope;
            TaskScheduled scheduled;
            try
            {
                envelope = QueueEnvelope.FromJson(message.Body.ToString());
                scheduled = (TaskScheduled)await ReadEventAsync(envelope.Event, envelope.EventBlob, cancellationToken);
            }
            catch (Exception exception) when (exception is JsonException or InvalidCastException or RequestFailedException or NotSupportedException)
            {
                await PoisonAsync(_clients.WorkItems, message, $"unreadable activity message: {exception.Message}", cancellationToken);
                continue;
            }

            if (message.DequeueCount > _maxDequeueCount)
            {
                // Handed out again and again without completing (its worker died each time): fail the call.
                var reason = $"Activity '{scheduled.Name}' was started {message.DequeueCount - 1} times without completing (poison message; limit {_maxDequeueCount}).";
                await SendAsync(new OrchestrationMessage(envelope.InstanceId, envelope.ExecutionId, new TaskFailed(Now(), scheduled.EventId, PoisonFailure(reason))), cancellationToken);
                await PoisonAsync(_clients.WorkItems, message, reason, cancellationToken);
                continue;
            }

            lock (_gate)
            {
                _activities.Enqueue(new ReceivedActivity(new ActivityMessage(envelope.InstanceId, envelope.ExecutionId!, scheduled), message.MessageId, message.PopReceipt, (int)message.DequeueCount));
            }
        }

        return received.Value.Length;
    }

    /// <inheritdoc/>
    public async Task RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var state = (ActivityLock)workItem.LockState;
        try
        {
            var updated = await _clients.WorkItems.UpdateMessageAsync(state.MessageId, state.PopReceipt, visibilityTimeout: _lockTimeout, cancellationToken: cancellationToken);
            state.PopReceipt = updated.Value.PopReceipt;
        }
        catch (RequestFailedException exception) when (exception.Status is 404 or 400)
        {
            throw new WorkItemLockLostException("The activity's queue message was taken by another worker or expired.", exception);
        }
    }

    /// <inheritdoc/>
    public async Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, OrchestrationMessage result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        var state = (ActivityLock)workItem.LockState;

        // The result is sent before the request is deleted: a crash in between re-runs the activity, never loses it.
        await SendAsync(result, cancellationToken);
        try
        {
            await _clients.WorkItems.DeleteMessageAsync(state.MessageId, state.PopReceipt, cancellationToken);
        }
        catch (RequestFailedException exception) when (exception.Status is 404 or 400)
        {
            throw new WorkItemLockLostException("The activity's queue message was taken by another worker or expired; its result may arrive twice.", exception);
        }
    }

    /// <inheritdoc/>
    public async Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var state = (ActivityLock)workItem.LockState;
        try
        {
            await _clients.WorkItems.UpdateMessageAsync(state.MessageId, state.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken);
        }
        catch (RequestFailedException exception) when (exception.Status is 404 or 400)
        {
            throw new WorkItemLockLostException("The activity's queue message was already released.", exception);
        }
    }

    // ---- internals ---------------------------------------------------------------------------------------

    private static FailureDetails PoisonFailure(string reason) => new("Workflows.Durable.PoisonMessage", reason, IsNonRetriable: true);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static OrchestrationRuntimeStatus Status(TableEntity row) =>
        Enum.Parse<OrchestrationRuntimeStatus>(row.GetString("RuntimeStatus") ?? nameof(OrchestrationRuntimeStatus.Pending));

    private static string HistoryRowKey(int generation, int sequence) =>
        generation.ToString("D8", CultureInfo.InvariantCulture) + ":" + sequence.ToString("D10", CultureInfo.InvariantCulture);

    private static string[] ProcessedIds(TableEntity? sentinel) =>
        sentinel?.GetString("ProcessedIds") is { Length: > 0 } ids ? ids.Split(',') : [];

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    private Task LocalSendTask()
    {
        lock (_gate)
        {
            return _localSend.Task;
        }
    }

    private void SignalLocalSend()
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            signal = _localSend;
            _localSend = NewSignal();
        }

        signal.TrySetResult();
    }

    private async Task SendAsync(OrchestrationMessage message, CancellationToken cancellationToken)
    {
        var queue = _clients.ControlQueues[_clients.Names.PartitionOf(message.InstanceId)];
        var json = await ToEnvelopeJsonAsync(message.InstanceId, message.ExecutionId, message.Event, message.VisibleAt, cancellationToken);
        var delay = message.VisibleAt is { } visibleAt ? visibleAt - Now() : TimeSpan.Zero;
        await queue.SendMessageAsync(json, delay <= TimeSpan.Zero ? null : (delay > MaxQueueDelay ? MaxQueueDelay : delay), TimeSpan.FromSeconds(-1), cancellationToken);
        SignalLocalSend();
    }

    private async Task SendActivityAsync(ActivityMessage activity, CancellationToken cancellationToken)
    {
        var json = await ToEnvelopeJsonAsync(activity.InstanceId, activity.ExecutionId, activity.Event, null, cancellationToken);
        await _clients.WorkItems.SendMessageAsync(json, null, TimeSpan.FromSeconds(-1), cancellationToken);
        SignalLocalSend();
    }

    private async Task<string> ToEnvelopeJsonAsync(string instanceId, string? executionId, HistoryEvent historyEvent, DateTime? visibleAt, CancellationToken cancellationToken)
    {
        var eventJson = HistorySerializer.Serialize(historyEvent);
        var blob = LargePayloadStore.NeedsBlob(eventJson) ? await _payloads.StoreAsync(instanceId, eventJson, cancellationToken) : null;
        return new QueueEnvelope(Guid.NewGuid().ToString("N"), instanceId, executionId, blob is null ? eventJson : null, blob, visibleAt).ToJson();
    }

    private async Task<HistoryEvent> ReadEventAsync(string? inline, string? blob, CancellationToken cancellationToken) =>
        HistorySerializer.DeserializeEvent(inline ?? await _payloads.LoadAsync(blob!, cancellationToken));

    /// <summary>Receives a batch from every control queue into the per-instance buffers; returns how many arrived.</summary>
    private async Task<int> ReceiveControlMessagesAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var partition in OwnedPartitions)
        {
            var queue = _clients.ControlQueues[partition];
            QueueMessage[] batch = (await queue.ReceiveMessagesAsync(32, _lockTimeout, cancellationToken)).Value;
            foreach (var message in batch)
            {
                QueueEnvelope envelope;
                HistoryEvent historyEvent;
                try
                {
                    envelope = QueueEnvelope.FromJson(message.Body.ToString());
                    historyEvent = await ReadEventAsync(envelope.Event, envelope.EventBlob, cancellationToken);
                }
                catch (Exception exception) when (exception is JsonException or RequestFailedException or NotSupportedException)
                {
                    await PoisonAsync(queue, message, $"unreadable control message: {exception.Message}", cancellationToken);
                    continue;
                }

                if (envelope.VisibleAt is { } visibleAt && visibleAt > Now().AddSeconds(1))
                {
                    // A timer further out than the queue's delay limit: send it on again for the remaining time.
                    await SendAsync(new OrchestrationMessage(envelope.InstanceId, envelope.ExecutionId, historyEvent, visibleAt), cancellationToken);
                    await DeleteQuietlyAsync(queue, message.MessageId, message.PopReceipt, cancellationToken);
                    continue;
                }

                var received = new ReceivedMessage(
                    queue,
                    message.MessageId,
                    message.PopReceipt,
                    (int)message.DequeueCount,
                    envelope.Id,
                    new OrchestrationMessage(envelope.InstanceId, envelope.ExecutionId, historyEvent));
                lock (_gate)
                {
                    if (!_buffers.TryGetValue(envelope.InstanceId, out var buffer))
                    {
                        buffer = new InstanceBuffer();
                        _buffers[envelope.InstanceId] = buffer;
                    }

                    buffer.Add(received);
                }

                total++;
            }
        }

        return total;
    }

    /// <summary>Locks an unlocked instance that has buffered messages and may run; null when there is none.</summary>
    private async Task<OrchestrationWorkItem?> TryLockBufferedInstanceAsync(CancellationToken cancellationToken)
    {
        List<(string InstanceId, InstanceBuffer Buffer, long Token)> candidates = [];
        lock (_gate)
        {
            foreach (var (instanceId, buffer) in _buffers)
            {
                if (!buffer.Locked && buffer.Pending.Count > 0 && !buffer.Parked && buffer.NotBefore <= Now() && Owns(instanceId))
                {
                    buffer.Locked = true;
                    buffer.Token = ++_nextToken;
                    candidates.Add((instanceId, buffer, buffer.Token));
                    break;
                }
            }
        }

        foreach (var (instanceId, buffer, token) in candidates)
        {
            if (buffer.Abandons >= _maxDequeueCount)
            {
                await PoisonInstanceAsync(instanceId, buffer, cancellationToken);
                continue;
            }

            var sentinel = await ReadSentinelAsync(instanceId, cancellationToken);
            List<ReceivedMessage> messages;
            lock (_gate)
            {
                var hasStart = buffer.Pending.Exists(m => m.Message.Event is ExecutionStarted);
                if (sentinel is null && !hasStart)
                {
                    // No history and no start yet: wait for the ExecutionStarted (or drop if the instance does not exist).
                    buffer.Locked = false;
                    buffer.Parked = true;
                    continue;
                }

                messages = buffer.Pending;
                buffer.Pending = [];
            }

            // Messages whose events a previous commit already recorded (it crashed before deleting them) are dropped.
            var processed = ProcessedIds(sentinel).ToHashSet(StringComparer.Ordinal);
            var duplicates = messages.Where(m => processed.Contains(m.EnvelopeId)).ToList();
            foreach (var duplicate in duplicates)
            {
                await DeleteQuietlyAsync(duplicate.Queue, duplicate.MessageId, duplicate.PopReceipt, cancellationToken);
            }

            if (duplicates.Count > 0)
            {
                // A commit died after its commit point: its instance row may not have been written. Repair it
                // from the copy of the state the commit point stored in the sentinel.
                await RepairInstanceStateAsync(instanceId, sentinel!, cancellationToken);
                messages = messages.Except(duplicates).ToList();
                if (messages.Count == 0)
                {
                    lock (_gate)
                    {
                        buffer.Locked = false;
                    }

                    continue;
                }
            }

            return new OrchestrationWorkItem
            {
                InstanceId = instanceId,
                Messages = messages.Select(m => m.Message).ToArray(),
                HistoryETag = sentinel?.ETag.ToString() ?? string.Empty,
                DequeueCount = buffer.Abandons,
                LockState = new InstanceLock(token, sentinel, messages),
            };
        }

        await DropOrphansAsync(cancellationToken);
        return null;
    }

    /// <summary>Parked buffers wait for their ExecutionStarted; those whose instance does not exist are dropped.</summary>
    private async Task DropOrphansAsync(CancellationToken cancellationToken)
    {
        List<(string InstanceId, InstanceBuffer Buffer)> parked;
        lock (_gate)
        {
            parked = _buffers.Where(b => b.Value.Parked && !b.Value.Locked).Select(b => (b.Key, b.Value)).ToList();
            foreach (var (_, buffer) in parked)
            {
                buffer.Parked = false;
            }
        }

        foreach (var (instanceId, buffer) in parked)
        {
            if (await ReadInstanceRowAsync(instanceId, cancellationToken) is not null)
            {
                continue;
            }

            List<ReceivedMessage> orphans;
            lock (_gate)
            {
                orphans = buffer.Pending;
                buffer.Pending = [];
            }

            foreach (var orphan in orphans)
            {
                await DeleteQuietlyAsync(orphan.Queue, orphan.MessageId, orphan.PopReceipt, cancellationToken);
            }
        }
    }

    private void RequireLock(string instanceId, InstanceLock state)
    {
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || !buffer.Locked || buffer.Token != state.Token)
            {
                throw new WorkItemLockLostException($"The lock on instance '{instanceId}' was lost; nothing was committed.");
            }

            if (!Owns(instanceId))
            {
                throw new WorkItemLockLostException($"This worker no longer owns the partition of instance '{instanceId}'; nothing was committed.");
            }
        }
    }

    private void Unlock(string instanceId, InstanceLock state, List<ReceivedMessage>? requeue)
    {
        lock (_gate)
        {
            if (!_buffers.TryGetValue(instanceId, out var buffer) || buffer.Token != state.Token)
            {
                return;
            }

            if (requeue is not null)
            {
                requeue.AddRange(buffer.Pending);
                buffer.Pending = requeue;
                buffer.Abandons++;

                // Back off before the next attempt: 1, 2, 4 ... seconds, at most a minute.
                buffer.NotBefore = Now().AddSeconds(Math.Min(60, Math.Pow(2, buffer.Abandons - 1)));
            }
            else
            {
                buffer.Abandons = 0;
            }

            buffer.Locked = false;
            if (buffer.Pending.Count == 0)
            {
                _buffers.Remove(instanceId);
            }
            else
            {
                // Messages arrived while it was locked: wake the loops instead of waiting for the next poll.
                requeue ??= [];
            }
        }

        if (requeue is not null)
        {
            SignalLocalSend();
        }
    }

    /// <summary>Moves a message to the poison queue (with the reason) and deletes it from its queue.</summary>
    private async Task PoisonAsync(QueueClient source, QueueMessage message, string reason, CancellationToken cancellationToken)
    {
        var record = JsonSerializer.Serialize(new { queue = source.Name, reason, body = message.Body.ToString(), dequeueCount = message.DequeueCount });
        await _clients.Poison.SendMessageAsync(record, null, TimeSpan.FromSeconds(-1), cancellationToken);
        await DeleteQuietlyAsync(source, message.MessageId, message.PopReceipt, cancellationToken);
    }

    /// <summary>
    /// An instance whose work items keep failing to commit: its messages go to the poison queue and the
    /// instance is marked Failed with the reason, so the rest of the hub keeps working.
    /// </summary>
    private async Task PoisonInstanceAsync(string instanceId, InstanceBuffer buffer, CancellationToken cancellationToken)
    {
        List<ReceivedMessage> messages;
        lock (_gate)
        {
            messages = buffer.Pending;
            buffer.Pending = [];
        }

        var reason = $"Instance '{instanceId}' could not be processed after {buffer.Abandons} attempts (poison messages moved to '{_clients.Names.PoisonQueue}').";
        foreach (var received in messages)
        {
            var record = JsonSerializer.Serialize(new { queue = received.Queue.Name, reason, @event = HistorySerializer.Serialize(received.Message.Event) });
            await _clients.Poison.SendMessageAsync(record, null, TimeSpan.FromSeconds(-1), cancellationToken);
            await DeleteQuietlyAsync(received.Queue, received.MessageId, received.PopReceipt, cancellationToken);
        }

        if (await ReadInstanceRowAsync(instanceId, cancellationToken) is { } row)
        {
            row["RuntimeStatus"] = nameof(OrchestrationRuntimeStatus.Failed);
            row["LastUpdatedTime"] = _time.GetUtcNow();
            row["FailureDetails"] = JsonSerializer.Serialize(PoisonFailure(reason), HistorySerializer.Options);
            await _clients.Instances.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken);
        }

        lock (_gate)
        {
            buffer.Locked = false;
            buffer.Abandons = 0;
            if (buffer.Pending.Count == 0)
            {
                _buffers.Remove(instanceId);
            }
        }
    }

    private async Task RepairInstanceStateAsync(string instanceId, TableEntity sentinel, CancellationToken cancellationToken)
    {
        var json = sentinel.GetString("StateBlob") is { Length: > 0 } blob ? await _payloads.LoadAsync(blob, cancellationToken) : sentinel.GetString("State");
        if (json is null || JsonSerializer.Deserialize<InstanceStateUpdate>(json, HistorySerializer.Options) is not { } state)
        {
            return;
        }

        await WriteInstanceStateAsync(instanceId, sentinel.GetString("ExecutionId") ?? string.Empty, state, cancellationToken);
    }

    private bool Owns(string instanceId) => _leases?.Owns(_clients.Names.PartitionOf(instanceId)) ?? true;

    private async Task EnsureLeasesAsync(CancellationToken cancellationToken)
    {
        if (_leases is null || _leasesStarted)
        {
            return;
        }

        await _leaseStart.WaitAsync(cancellationToken);
        try
        {
            if (!_leasesStarted)
            {
                await _leases.StartAsync(cancellationToken);
                _leasesStarted = true;
            }
        }
        finally
        {
            _leaseStart.Release();
        }
    }

    /// <summary>A partition may be handed to another worker only while none of its instances is mid-episode.</summary>
    private bool CanReleasePartition(int partition)
    {
        lock (_gate)
        {
            return !_buffers.Any(b => b.Value.Locked && _clients.Names.PartitionOf(b.Key) == partition);
        }
    }

    /// <summary>Gives a released or lost partition's buffered messages back to the queue, visible at once to the new owner.</summary>
    private async Task ReleaseBufferedAsync(int partition)
    {
        List<ReceivedMessage> handBack = [];
        lock (_gate)
        {
            foreach (var (instanceId, buffer) in _buffers.Where(b => !b.Value.Locked && _clients.Names.PartitionOf(b.Key) == partition).ToList())
            {
                handBack.AddRange(buffer.Pending);
                _buffers.Remove(instanceId);
            }
        }

        foreach (var message in handBack)
        {
            try
            {
                await message.Queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero);
            }
            catch (RequestFailedException)
            {
                // Already visible again or deleted.
            }
        }
    }

    private static async Task DeleteQuietlyAsync(QueueClient queue, string messageId, string popReceipt, CancellationToken cancellationToken)
    {
        try
        {
            await queue.DeleteMessageAsync(messageId, popReceipt, cancellationToken);
        }
        catch (RequestFailedException exception) when (exception.Status is 404 or 400)
        {
            // Already deleted, or re-received under a new pop receipt: the redelivery is de-duplicated downstream.
        }
    }

    // ---- tables ------------------------------------------------------------------------------------------

    private async Task<TableEntity?> ReadInstanceRowAsync(string instanceId, CancellationToken cancellationToken)
    {
        var response = await _clients.Instances.GetEntityIfExistsAsync<TableEntity>(instanceId, string.Empty, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private async Task<TableEntity?> ReadSentinelAsync(string instanceId, CancellationToken cancellationToken)
    {
        var response = await _clients.History.GetEntityIfExistsAsync<TableEntity>(instanceId, SentinelRowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private async Task<IReadOnlyList<HistoryEvent>> ReadHistoryAsync(string instanceId, TableEntity sentinel, CancellationToken cancellationToken)
    {
        var generation = sentinel.GetInt32("Generation") ?? 0;
        var count = sentinel.GetInt32("Count") ?? 0;
        var from = HistoryRowKey(generation, 0);
        var to = HistoryRowKey(generation, count);
        var events = new List<HistoryEvent>(count);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {instanceId} and RowKey ge {from} and RowKey lt {to}");
        await foreach (var row in _clients.History.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            events.Add(await ReadEventAsync(row.GetString("Event"), row.GetString("EventBlob"), cancellationToken));
        }

        return events;
    }

    /// <summary>
    /// Writes new history rows, then moves the sentinel (with an ETag check) in the last batch: rows beyond the
    /// sentinel's count are invisible, so a crash or a lost race leaves the committed history as it was.
    /// </summary>
    private async Task<string> AppendHistoryAsync(string instanceId, TableEntity? sentinel, OrchestrationCommit commit, IEnumerable<string> processedIds, CancellationToken cancellationToken)
    {
        var generation = sentinel?.GetInt32("Generation") ?? 0;
        var start = sentinel?.GetInt32("Count") ?? 0;
        if (commit.ReplaceHistory)
        {
            generation++;
            start = 0;
        }

        var rows = new List<TableEntity>(commit.NewEvents.Count);
        for (var i = 0; i < commit.NewEvents.Count; i++)
        {
            var json = HistorySerializer.Serialize(commit.NewEvents[i]);
            var row = new TableEntity(instanceId, HistoryRowKey(generation, start + i)) { ["EventType"] = commit.NewEvents[i].GetType().Name };
            if (LargePayloadStore.NeedsBlob(json))
            {
                row["EventBlob"] = await _payloads.StoreAsync(instanceId, json, cancellationToken);
            }
            else
            {
                row["Event"] = json;
            }

            rows.Add(row);
        }

        var lastBatchRows = Math.Min(rows.Count, BatchLimit - 1);
        var leading = rows.Count - lastBatchRows;
        for (var offset = 0; offset < leading; offset += BatchLimit)
        {
            var batch = rows.Skip(offset).Take(Math.Min(BatchLimit, leading - offset))
                .Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r));
            await _clients.History.SubmitTransactionAsync(batch, cancellationToken);
        }

        var newSentinel = new TableEntity(instanceId, SentinelRowKey)
        {
            ["Generation"] = generation,
            ["Count"] = start + commit.NewEvents.Count,
            ["ExecutionId"] = commit.ExecutionId,
            ["ProcessedIds"] = string.Join(',', ProcessedIds(sentinel).Concat(processedIds).TakeLast(MaxRememberedMessageIds)),
        };
        if (commit.State is { } state)
        {
            // The committed instance state travels with the commit point, so a crash before the instance row is
            // written can be repaired (RepairInstanceStateAsync).
            var stateJson = JsonSerializer.Serialize(state, HistorySerializer.Options);
            if (LargePayloadStore.NeedsBlob(stateJson))
            {
                newSentinel["StateBlob"] = await _payloads.StoreAsync(instanceId, stateJson, cancellationToken);
            }
            else
            {
                newSentinel["State"] = stateJson;
            }
        }

        var last = rows.Skip(leading).Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)).ToList();
        last.Add(sentinel is null
            ? new TableTransactionAction(TableTransactionActionType.Add, newSentinel)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, newSentinel, sentinel.ETag));
        try
        {
            var response = await _clients.History.SubmitTransactionAsync(last, cancellationToken);
            return response.Value[^1].Headers.ETag?.ToString() ?? string.Empty;
        }
        catch (TableTransactionFailedException exception) when (exception.Status is 409 or 412)
        {
            throw new WorkItemLockLostException($"Instance '{instanceId}': history changed under this work item (split brain); nothing was committed.", exception);
        }
    }

    private async Task DeleteHistoryAsync(string instanceId, bool includeSentinel, CancellationToken cancellationToken)
    {
        var doomed = new List<TableTransactionAction>();
        await foreach (var row in _clients.History.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {instanceId}"), select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            if (includeSentinel || row.RowKey != SentinelRowKey)
            {
                doomed.Add(new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All));
            }
        }

        for (var offset = 0; offset < doomed.Count; offset += BatchLimit)
        {
            await _clients.History.SubmitTransactionAsync(doomed.Skip(offset).Take(BatchLimit), cancellationToken);
        }
    }

    private async Task WriteNewInstanceAsync(ExecutionStarted started, TableEntity? existing, CancellationToken cancellationToken)
    {
        if (existing is not null)
        {
            // Replacing a finished instance: its old history and payloads go first.
            await DeleteHistoryAsync(started.InstanceId, includeSentinel: true, cancellationToken);
            await _payloads.DeleteInstanceAsync(started.InstanceId, cancellationToken);
        }

        var now = _time.GetUtcNow();
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
        };
        await SetPayloadAsync(row, "Input", started.InstanceId, started.Input, cancellationToken);
        try
        {
            if (existing is null)
            {
                await _clients.Instances.AddEntityAsync(row, cancellationToken);
            }
            else
            {
                await _clients.Instances.UpdateEntityAsync(row, existing.ETag, TableUpdateMode.Replace, cancellationToken);
            }
        }
        catch (RequestFailedException exception) when (exception.Status is 409 or 412)
        {
            var current = await ReadInstanceRowAsync(started.InstanceId, cancellationToken);
            throw new OrchestrationAlreadyExistsException(started.InstanceId, current is null ? OrchestrationRuntimeStatus.Pending : Status(current));
        }
    }

    private async Task CreateChildIfAbsentAsync(ExecutionStarted child, CancellationToken cancellationToken)
    {
        var existing = await ReadInstanceRowAsync(child.InstanceId, cancellationToken);
        if (existing is null || Status(existing).IsTerminal())
        {
            try
            {
                await WriteNewInstanceAsync(child, existing, cancellationToken);
            }
            catch (OrchestrationAlreadyExistsException)
            {
                // Created meanwhile (a redelivered start): the running child rejects the duplicate start.
            }
        }
    }

    private async Task WriteInstanceStateAsync(string instanceId, string executionId, InstanceStateUpdate update, CancellationToken cancellationToken)
    {
        var row = new TableEntity(instanceId, string.Empty)
        {
            ["Name"] = update.Name,
            ["NameLower"] = update.Name.ToLowerInvariant(),
            ["ExecutionId"] = executionId,
            ["RuntimeStatus"] = update.Status.ToString(),
            ["LastUpdatedTime"] = _time.GetUtcNow(),
            ["FailureDetails"] = update.FailureDetails is null ? null : JsonSerializer.Serialize(update.FailureDetails, HistorySerializer.Options),
            ["ParentInstanceId"] = update.ParentInstanceId,
        };
        await SetPayloadAsync(row, "Input", instanceId, update.Input, cancellationToken);
        await SetPayloadAsync(row, "Output", instanceId, update.Output, cancellationToken);
        await SetPayloadAsync(row, "CustomStatus", instanceId, update.CustomStatus, cancellationToken);
        await _clients.Instances.UpsertEntityAsync(row, TableUpdateMode.Merge, cancellationToken);
    }

    private async Task SetPayloadAsync(TableEntity row, string name, string instanceId, string? value, CancellationToken cancellationToken)
    {
        if (LargePayloadStore.NeedsBlob(value))
        {
            row[name] = null;
            row[name + "Blob"] = await _payloads.StoreAsync(instanceId, value!, cancellationToken);
        }
        else
        {
            row[name] = value;
            row[name + "Blob"] = null;
        }
    }

    private async Task<string?> GetPayloadAsync(TableEntity row, string name, CancellationToken cancellationToken) =>
        row.GetString(name + "Blob") is { Length: > 0 } blob ? await _payloads.LoadAsync(blob, cancellationToken) : row.GetString(name);

    private async Task<OrchestrationMetadata> ToMetadataAsync(TableEntity row, bool withPayloads, CancellationToken cancellationToken) => new()
    {
        Name = row.GetString("Name") ?? string.Empty,
        InstanceId = row.PartitionKey,
        ExecutionId = row.GetString("ExecutionId") ?? string.Empty,
        RuntimeStatus = Status(row),
        CreatedAt = row.GetDateTimeOffset("CreatedTime") ?? DateTimeOffset.MinValue,
        LastUpdatedAt = row.GetDateTimeOffset("LastUpdatedTime") ?? DateTimeOffset.MinValue,
        ScheduledStartTime = row.GetDateTimeOffset("ScheduledStartTime"),
        ParentInstanceId = row.GetString("ParentInstanceId"),
        SerializedInput = withPayloads ? await GetPayloadAsync(row, "Input", cancellationToken) : null,
        SerializedOutput = withPayloads ? await GetPayloadAsync(row, "Output", cancellationToken) : null,
        SerializedCustomStatus = withPayloads ? await GetPayloadAsync(row, "CustomStatus", cancellationToken) : null,
        FailureDetails = row.GetString("FailureDetails") is { Length: > 0 } failure ? JsonSerializer.Deserialize<FailureDetails>(failure, HistorySerializer.Options) : null,
    };

    private sealed record ReceivedMessage(QueueClient Queue, string MessageId, string PopReceipt, int DequeueCount, string EnvelopeId, OrchestrationMessage Message);

    private sealed record InstanceLock(long Token, TableEntity? Sentinel, List<ReceivedMessage> Messages);

    private sealed class InstanceBuffer
    {
        public List<ReceivedMessage> Pending { get; set; } = [];

        public bool Locked { get; set; }

        public bool Parked { get; set; }

        public long Token { get; set; }

        public int Abandons { get; set; }

        public DateTime NotBefore { get; set; }

        /// <summary>Adds a message, replacing an earlier copy of the same queue message (re-received after its visibility expired).</summary>
        public void Add(ReceivedMessage message)
        {
            var index = Pending.FindIndex(m => m.MessageId == message.MessageId);
            if (index >= 0)
            {
                Pending[index] = message;
            }
            else
            {
                Pending.Add(message);
            }

            Parked = false;
        }
    }

    private sealed record ReceivedActivity(ActivityMessage Message, string MessageId, string PopReceipt, int DequeueCount)
    {
        public ActivityWorkItem ToWorkItem() => new()
        {
            Message = Message,
            DequeueCount = DequeueCount - 1,
            LockState = new ActivityLock(MessageId, PopReceipt),
        };
    }

    private sealed class ActivityLock(string messageId, string popReceipt)
    {
        public string MessageId { get; } = messageId;

        public string PopReceipt { get; set; } = popReceipt;
    }
}
