using Azure;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Sends orchestration messages and activity calls as queue envelopes (an event over the size limit goes to a blob and
/// the envelope names it), reads an envelope's event back, and deletes messages. Sending wakes this worker's receive
/// loop for the queue, so a message to an instance of its own never waits for the polling back-off.
/// </summary>
internal sealed class TaskHubQueues(
    TaskHubClients clients,
    LargePayloadStore payloads,
    HeldMessages held,
    TimeProvider time,
    Action<int> sentToControlQueue,
    Action sentToWorkItems,
    ILogger logger)
{
    /// <summary>The longest delay a queue accepts; a timer further out is sent on again when it shows (see <see cref="ControlQueueReceiver"/>).</summary>
    private static readonly TimeSpan MaxQueueDelay = TimeSpan.FromDays(6);

    /// <summary>Sends a message to its instance's control queue, invisible until its <see cref="OrchestrationMessage.VisibleAt"/>.</summary>
    public async Task SendAsync(OrchestrationMessage message, CancellationToken cancellationToken)
    {
        var partition = clients.Names.PartitionOf(message.InstanceId);
        var json = await ToEnvelopeJsonAsync(message.InstanceId, message.ExecutionId, message.Event, message.VisibleAt, cancellationToken).ConfigureAwait(false);
        var delay = message.VisibleAt is { } visibleAt ? visibleAt - time.GetUtcNow().UtcDateTime : TimeSpan.Zero;

        // Queue visibility counts whole seconds and the storage SDK truncates: the delay is rounded up, so a timer
        // fires up to a second late, never early.
        delay = delay <= TimeSpan.Zero ? delay : TimeSpan.FromSeconds(Math.Ceiling(delay.TotalSeconds));
        await clients.ControlQueues[partition].SendMessageAsync(json, delay <= TimeSpan.Zero ? null : (delay > MaxQueueDelay ? MaxQueueDelay : delay), TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        if (delay <= TimeSpan.Zero)
        {
            sentToControlQueue(partition);
        }
    }

    /// <summary>Sends an activity call to the shared work-item queue (a spilled call).</summary>
    public async Task SendActivityAsync(ActivityMessage activity, CancellationToken cancellationToken)
    {
        var json = await ToEnvelopeJsonAsync(activity.InstanceId, activity.ExecutionId, activity.Event, null, cancellationToken).ConfigureAwait(false);
        await clients.WorkItems.SendMessageAsync(json, null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        sentToWorkItems();
    }

    /// <summary>The event an envelope carries, inline or from its blob.</summary>
    public async Task<HistoryEvent> ReadEventAsync(QueueEnvelope envelope, CancellationToken cancellationToken) =>
        HistorySerializer.DeserializeEvent(envelope.Event ?? await payloads.LoadAsync(envelope.EventBlob!, cancellationToken).ConfigureAwait(false));

    /// <summary>Deletes a processed queue message (an in-process result has none); nothing when it is no longer held.</summary>
    public Task DeleteAsync(ReceivedMessage message, CancellationToken cancellationToken) =>
        message.Held is null ? Task.CompletedTask : held.DeleteAsync(message.Held, cancellationToken);

    /// <summary>Deletes a message this worker received but does not hold; one already gone is no error.</summary>
    public async Task DeleteQuietlyAsync(QueueClient queue, string messageId, string popReceipt, CancellationToken cancellationToken)
    {
        try
        {
            await queue.DeleteMessageAsync(messageId, popReceipt, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException exception) when (exception.Status is 404 or 400)
        {
            // Already deleted, or re-received under a new pop receipt: the redelivery is de-duplicated downstream.
            TaskHubLog.QueueMessageAlreadyGone(logger, queue.Name, messageId, exception.Status);
        }
    }

    private async Task<string> ToEnvelopeJsonAsync(string instanceId, string? executionId, HistoryEvent historyEvent, DateTime? visibleAt, CancellationToken cancellationToken)
    {
        var eventJson = HistorySerializer.Serialize(historyEvent);
        var blob = LargePayloadStore.NeedsBlob(eventJson) ? await payloads.StoreAsync(instanceId, eventJson, cancellationToken).ConfigureAwait(false) : null;
        return new QueueEnvelope(Guid.NewGuid().ToString("N"), instanceId, executionId, blob is null ? eventJson : null, blob, visibleAt).ToJson();
    }
}
