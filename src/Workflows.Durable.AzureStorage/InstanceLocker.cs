using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>An instance locked for an episode: its lock state (sentinel and messages) and how often its work items were abandoned in a row.</summary>
internal sealed record LockedWork(string InstanceId, InstanceLock Lock, int Abandons)
{
    /// <summary>The sentinel's ETag, or empty for an instance without history.</summary>
    public string HistoryETag => Lock.Sentinel?.ETag.ToString() ?? string.Empty;
}

/// <summary>What a lock step has taken out of an instance's buffer so far; it goes back when the step fails.</summary>
internal sealed class TakenWork
{
    public List<ReceivedMessage> Messages { get; } = [];

    public List<ReceivedMarker> Markers { get; } = [];

    public bool CheckRow { get; set; }
}

/// <summary>
/// The lock step of an orchestration work item (docs/task-hub-commit-protocol.md, "A work item"): locks the next
/// instance with buffered work, poisons it when its messages keep failing, reads its sentinel (or takes the one this
/// worker committed last), recovers in-process activities from its recovery markers, drops messages that history
/// already records, and repairs the instance row when it may be behind.
/// </summary>
internal sealed class InstanceLocker(
    InstanceBuffers buffers,
    SentinelCache sentinels,
    HistoryStore history,
    InstanceTable instances,
    TaskHubQueues queues,
    ControlQueueReceiver receiver,
    RecoveryMarkers markers,
    PoisonMessages poison,
    Action<string> forget,
    TimeSpan minPollingInterval,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Waits for an instance with work and locks it.</summary>
    public async Task<LockedWork> LockNextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var changed = buffers.Changed;
            var item = await TryLockAsync(cancellationToken).ConfigureAwait(false);
            if (item is not null)
            {
                return item;
            }

            // Buffers change when the poller receives messages or an in-process activity finishes; an instance
            // backing off after abandoned work items becomes eligible again by the clock.
            var retryAt = buffers.NextBackOffEnd();
            if (retryAt is { } at)
            {
                var wait = at - time.GetUtcNow().UtcDateTime;
                await Task.WhenAny(changed, Task.Delay(wait > minPollingInterval ? wait : minPollingInterval, time, cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
            else
            {
                await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Locks an unlocked instance that has buffered messages and may run; null when there is none.</summary>
    private async Task<LockedWork?> TryLockAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (buffers.TryLockNext() is not { } locked)
            {
                await receiver.DropOrphansAsync(cancellationToken).ConfigureAwait(false);
                return null;
            }

            var taken = new TakenWork();
            try
            {
                var item = await TryBuildAsync(locked, sentinels.Get(locked.InstanceId), taken, cancellationToken).ConfigureAwait(false);
                if (item is not null)
                {
                    return item;
                }
            }
            catch (Exception exception)
            {
                buffers.UnlockFailed(locked, taken);
                TaskHubLog.LockFailed(logger, locked.InstanceId, exception.GetType().Name, exception.Message);
                throw;
            }
        }
    }

    /// <summary>Turns a locked buffer into a work item; null when nothing is left to deliver (the buffer is unlocked then).</summary>
    private async Task<LockedWork?> TryBuildAsync(LockedInstance locked, TableEntity? cached, TakenWork taken, CancellationToken cancellationToken)
    {
        var instanceId = locked.InstanceId;
        var buffered = buffers.Inspect(locked);
        taken.CheckRow = buffered.CheckRow;
        if (poison.IsPoisoned(buffered))
        {
            var batch = buffers.TakeBatch(locked);
            taken.Messages.AddRange(batch);
            await poison.PoisonInstanceAsync(instanceId, batch, buffered.Abandons, cancellationToken).ConfigureAwait(false);
            forget(instanceId);
            buffers.UnlockUnused(locked, resetAbandons: true);
            return null;
        }

        // The sentinel this worker committed last is still current while it owns the partition (a commit by
        // anyone else would fail its ETag check, and that failure drops the cache); a start message always reads it.
        var fresh = cached is null || buffered.HasStart || buffered.CheckRow;
        var sentinel = fresh ? await history.ReadSentinelAsync(instanceId, cancellationToken).ConfigureAwait(false) : cached;

        // No history and no start yet: wait for the ExecutionStarted (or drop if the instance does not exist). A
        // marker of an instance without history has nothing to recover. A terminate does not wait for a start that is
        // not due yet: the start is rebuilt from the instance row, so the instance ends now.
        var startNow = sentinel is null && !buffered.HasStart && buffered.HasTerminate
            ? await PendingStartAsync(instanceId, cancellationToken).ConfigureAwait(false)
            : null;
        var waitForStart = sentinel is null && !buffered.HasStart && startNow is null;
        var remembered = RememberedIds.Of(sentinel);
        var room = history.QueueMessageRoom(remembered);
        var (messages, received) = buffers.TakeWork(locked, waitForStart, remembered, room);
        if (startNow is not null)
        {
            messages.Insert(0, startNow);
        }

        if (waitForStart)
        {
            // The buffer is unlocked already; a marker that is not discarded shows again when its visibility ends.
            await markers.DiscardAsync(received, cancellationToken).ConfigureAwait(false);
            return null;
        }

        taken.Messages.AddRange(messages);
        taken.Markers.AddRange(received);

        if (received.Count > 0)
        {
            messages.AddRange(await markers.RecoverAsync(instanceId, sentinel, received, messages, cancellationToken).ConfigureAwait(false));
        }

        // Messages whose events a commit already recorded (its worker died or failed before deleting them) are dropped.
        (messages, var duplicates) = await remembered.DropCopiesAsync(messages, queues, cancellationToken).ConfigureAwait(false);

        // Whenever this worker cannot know that the instance row shows the last committed state (it has not seen the
        // instance since it started, or a commit died or failed after its commit point), the row is compared with
        // the state the sentinel recorded, and written from it when it is behind.
        if (sentinel is not null && (fresh || duplicates > 0))
        {
            await RepairInstanceRowAsync(instanceId, sentinel, cancellationToken).ConfigureAwait(false);
        }

        if (messages.Count == 0)
        {
            // No room for more queue messages beside the ids the sentinel must keep (another worker's, within their
            // hold): what waits stays until the earliest hold ends.
            buffers.UnlockUnused(locked, notBefore: room == 0 ? history.NextHoldEnd(remembered) : null);
            return null;
        }

        return new LockedWork(instanceId, new InstanceLock(locked.Token, sentinel, messages), buffered.Abandons);
    }

    /// <summary>
    /// The start of a Pending instance without history as its row records it (name, execution id, input, version,
    /// tags), held by no queue message: the real start message, when it becomes visible, finds the execution in history
    /// and is dropped. Null when the row is not a Pending top-level instance (a sub-orchestration's start is its parent's
    /// to send, so its messages keep waiting).
    /// </summary>
    private async Task<ReceivedMessage?> PendingStartAsync(string instanceId, CancellationToken cancellationToken)
    {
        var row = await instances.ReadAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var instance = await instances.ToMetadataAsync(row, withPayloads: true, cancellationToken).ConfigureAwait(false);
        if (instance.RuntimeStatus != OrchestrationRuntimeStatus.Pending || instance.ParentInstanceId is not null || instance.ExecutionId.Length == 0)
        {
            return null;
        }

        var started = new ExecutionStarted(
            instance.CreatedAt.UtcDateTime,
            instance.Name,
            instanceId,
            instance.ExecutionId,
            instance.SerializedInput,
            Version: instance.Version,
            Tags: instance.Tags);
        return new ReceivedMessage(null, 1, null, new OrchestrationMessage(instanceId, instance.ExecutionId, started));
    }

    /// <summary>Writes the instance row from the state <paramref name="sentinel"/> recorded when the row is behind it.</summary>
    private async Task RepairInstanceRowAsync(string instanceId, TableEntity sentinel, CancellationToken cancellationToken)
    {
        var version = HistoryStore.StateVersionOf(sentinel);
        if (version.Length == 0)
        {
            return;
        }

        var row = await instances.ReadAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (row is not null && string.CompareOrdinal(InstanceTable.StateVersionOf(row), version) >= 0)
        {
            return;
        }

        if (await history.ReadStateAsync(sentinel, cancellationToken).ConfigureAwait(false) is { } state)
        {
            TaskHubLog.RepairedInstanceRow(logger, instanceId, row is null ? "none" : InstanceTable.StateVersionOf(row), version);
            await instances.WriteStateAsync(instanceId, sentinel.GetString("ExecutionId") ?? string.Empty, state, version, cancellationToken).ConfigureAwait(false);
        }
    }
}
