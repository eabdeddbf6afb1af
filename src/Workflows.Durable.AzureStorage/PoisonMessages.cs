using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Poison handling: when a message has failed too often (<see cref="AzureStorageOptions.MaxDequeueCount"/>), and what
/// then happens to it. Every poisoned message is recorded, with the reason, in the poison queue; an unreadable one is
/// moved there; a poisoned activity call fails with the reason; a poisoned instance fails durably.
/// </summary>
internal sealed class PoisonMessages(
    TaskHubClients clients,
    HistoryStore history,
    InstanceTable instances,
    TaskHubQueues queues,
    int maxDequeueCount,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Deliveries after which a message is poison.</summary>
    public int MaxDequeueCount => maxDequeueCount;

    /// <summary>The failure of a call or an instance that was poisoned.</summary>
    public static FailureDetails Failure(string reason) => new("Workflows.Durable.PoisonMessage", reason, IsNonRetriable: true);

    /// <summary>
    /// Whether an instance is poisoned: its work items were abandoned here too often, or one of its queue messages was
    /// received too often by any worker (a message that kills the process that runs it is received again by each
    /// process it kills: the queue's count survives restarts).
    /// </summary>
    public bool IsPoisoned(BufferState buffer) => buffer.Abandons >= maxDequeueCount || buffer.MaxDequeueCount > maxDequeueCount;

    /// <summary>Whether an activity call was handed out too often without completing (its worker died each time).</summary>
    public bool IsPoisoned(int dequeueCount) => dequeueCount > maxDequeueCount;

    /// <summary>The reason an activity call fails after <paramref name="attempts"/> starts without completing.</summary>
    public string ActivityReason(string activityName, int attempts) =>
        $"Activity '{activityName}' was started {attempts} times without completing (poison message; limit {maxDequeueCount}).";

    /// <summary>The failed result of a poisoned activity call.</summary>
    public OrchestrationMessage FailedCall(string instanceId, string? executionId, TaskScheduled call, string reason) =>
        new(instanceId, executionId, new TaskFailed(time.GetUtcNow().UtcDateTime, call.EventId, Failure(reason)));

    /// <summary>Moves a message to the poison queue (with the reason) and deletes it from its queue.</summary>
    public async Task PoisonUnreadableAsync(QueueClient source, QueueMessage message, string reason, CancellationToken cancellationToken)
    {
        TaskHubLog.UnreadableMessagePoisoned(logger, source.Name, message.MessageId, reason);
        var record = JsonSerializer.Serialize(new { queue = source.Name, reason, body = message.Body.ToString(), dequeueCount = message.DequeueCount });
        await RecordAsync(record, cancellationToken).ConfigureAwait(false);
        await queues.DeleteQuietlyAsync(source, message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records an activity request from the work-item queue that was handed out too often, fails its call, and deletes it.</summary>
    public async Task PoisonActivityRequestAsync(QueueClient source, QueueMessage message, QueueEnvelope envelope, TaskScheduled scheduled, CancellationToken cancellationToken)
    {
        var reason = ActivityReason(scheduled.Name, (int)message.DequeueCount - 1);
        await queues.SendAsync(FailedCall(envelope.InstanceId, envelope.ExecutionId, scheduled, reason), cancellationToken).ConfigureAwait(false);
        var record = JsonSerializer.Serialize(new { queue = source.Name, reason, body = message.Body.ToString(), dequeueCount = message.DequeueCount });
        await RecordAsync(record, cancellationToken).ConfigureAwait(false);
        await queues.DeleteQuietlyAsync(source, message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records an in-process activity call that was handed out too often; returns its failed result.</summary>
    public async Task<OrchestrationMessage> PoisonLocalActivityAsync(ActivityMessage activity, int dequeueCount, CancellationToken cancellationToken)
    {
        var scheduled = activity.Event;
        var reason = ActivityReason(scheduled.Name, dequeueCount - 1);
        var record = JsonSerializer.Serialize(new { queue = "in-process", reason, key = activity.IdempotencyKey, @event = HistorySerializer.Serialize(scheduled) });
        await RecordAsync(record, cancellationToken).ConfigureAwait(false);
        return FailedCall(activity.InstanceId, activity.ExecutionId, scheduled, reason);
    }

    /// <summary>
    /// Records an in-process activity call whose recovery marker was received too often (each worker that ran it
    /// stopped before its result was committed); returns its failed result.
    /// </summary>
    public async Task<OrchestrationMessage> PoisonRecoveredActivityAsync(string instanceId, string executionId, TaskScheduled call, int starts, CancellationToken cancellationToken)
    {
        var reason = ActivityReason(call.Name, starts);
        var record = JsonSerializer.Serialize(new { queue = "in-process", reason, instanceId, executionId, @event = HistorySerializer.Serialize(call) });
        await RecordAsync(record, cancellationToken).ConfigureAwait(false);
        return FailedCall(instanceId, executionId, call, reason);
    }

    /// <summary>
    /// An instance whose messages keep failing (its work items are abandoned, or a message is received again and again
    /// because processes die running it): its messages go to the poison queue and are deleted, and the instance fails
    /// durably: an <see cref="ExecutionCompleted"/> (Failed, with the reason) is committed to its history, so messages
    /// that come later are dropped instead of running it again, and its row says Failed with the reason. The parent of a
    /// poisoned sub-orchestration receives its failure.
    /// </summary>
    public async Task PoisonInstanceAsync(string instanceId, List<ReceivedMessage> messages, int abandons, CancellationToken cancellationToken)
    {
        var attempts = Math.Max(abandons, messages.Count == 0 ? 0 : messages.Max(m => m.DequeueCount));
        var reason = $"Instance '{instanceId}' could not be processed after {attempts} attempts (poison messages moved to '{clients.Names.PoisonQueue}').";
        TaskHubLog.PoisonedInstance(logger, instanceId, attempts, clients.Names.PoisonQueue);
        foreach (var received in messages)
        {
            var record = JsonSerializer.Serialize(new { queue = received.Held?.Queue.Name ?? "in-process", reason, @event = HistorySerializer.Serialize(received.Message.Event) });
            await RecordAsync(record, cancellationToken).ConfigureAwait(false);
        }

        await CommitFailureAsync(instanceId, messages, Failure(reason), cancellationToken).ConfigureAwait(false);
        foreach (var received in messages)
        {
            await queues.DeleteAsync(received, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RecordAsync(string record, CancellationToken cancellationToken) =>
        await clients.Poison.SendMessageAsync(record, null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);

    /// <summary>Commits the failure of a poisoned instance to its history and row (nothing when it has already finished).</summary>
    private async Task CommitFailureAsync(string instanceId, List<ReceivedMessage> messages, FailureDetails failure, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var sentinel = await history.ReadSentinelAsync(instanceId, cancellationToken).ConfigureAwait(false);
        List<HistoryEvent> events = [new OrchestratorStarted(now)];
        InstanceStateUpdate? state;
        string executionId;
        ParentInstanceInfo? parent;
        if (sentinel is null || (sentinel.GetInt32("Count") ?? 0) == 0)
        {
            // No event of the current execution is committed: the poisoned messages hold its start, if anything.
            if (messages.Select(m => m.Message.Event).OfType<ExecutionStarted>().FirstOrDefault() is not { } start)
            {
                return;
            }

            events.Add(start);
            executionId = start.ExecutionId;
            parent = start.ParentInstance;
            state = new InstanceStateUpdate(start.Name, OrchestrationRuntimeStatus.Running, start.Input, null, null, null, start.ParentInstance?.InstanceId);
        }
        else
        {
            state = await history.ReadStateAsync(sentinel, cancellationToken).ConfigureAwait(false);
            executionId = sentinel.GetString("ExecutionId") ?? string.Empty;
            if (state is null || state.Status.IsTerminal())
            {
                return;
            }

            parent = state.ParentInstanceId is null
                ? null
                : (await history.ReadAsync(instanceId, sentinel, cancellationToken).ConfigureAwait(false)).OfType<ExecutionStarted>().FirstOrDefault()?.ParentInstance;
        }

        // A sub-orchestration's parent waits for its result: like any commit's outgoing messages, the failure goes to
        // the parent before the commit point (a copy sent again after a crash completes nothing that is complete).
        if (parent is not null)
        {
            await queues.SendAsync(new OrchestrationMessage(parent.InstanceId, parent.ExecutionId, new SubOrchestrationInstanceFailed(now, parent.TaskScheduledId, failure)), cancellationToken).ConfigureAwait(false);
        }

        events.Add(new ExecutionCompleted(now, OrchestrationRuntimeStatus.Failed, null, failure));
        events.Add(new OrchestratorCompleted(now));
        var failed = state with { Status = OrchestrationRuntimeStatus.Failed, Output = null, FailureDetails = failure };
        var commit = new OrchestrationCommit { ExecutionId = executionId, NewEvents = events, State = failed };
        try
        {
            var processed = messages.Where(m => m.EnvelopeId is not null).Select(m => m.EnvelopeId!);
            var committed = await history.AppendAsync(instanceId, sentinel, commit, processed, cancellationToken).ConfigureAwait(false);
            await instances.WriteStateAsync(instanceId, executionId, failed, HistoryStore.StateVersionOf(committed), cancellationToken).ConfigureAwait(false);
        }
        catch (WorkItemLockLostException exception)
        {
            // Someone else committed for the instance meanwhile: it is theirs now, and so is the decision.
            TaskHubLog.PoisonCommitLost(logger, instanceId, exception.Message);
        }
    }
}
