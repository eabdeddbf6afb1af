using System.Text.Json;
using Azure;
using Azure.Storage.Queues.Models;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Receives the control queues of the owned partitions into the instance buffers: orchestration messages and recovery
/// markers, held invisible while buffered. An unreadable message goes to the poison queue; a timer further out than
/// the queue's delay limit is sent on again for the remaining time. Also drops the messages of instances that do not
/// exist.
/// </summary>
internal sealed class ControlQueueReceiver(
    TaskHubClients clients,
    HeldMessages held,
    InstanceBuffers buffers,
    TaskHubQueues queues,
    PoisonMessages poison,
    InstanceTable instances,
    Func<IReadOnlyCollection<int>> ownedPartitions,
    TimeProvider time)
{
    /// <summary>Receives a batch from every owned control queue into the buffers; returns how many arrived.</summary>
    public async Task<int> ReceiveAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var partition in ownedPartitions())
        {
            var queue = clients.ControlQueues[partition];
            QueueMessage[] batch = (await queue.ReceiveMessagesAsync(32, held.Visibility, cancellationToken).ConfigureAwait(false)).Value;
            foreach (var message in batch)
            {
                QueueEnvelope envelope;
                HistoryEvent historyEvent;
                try
                {
                    envelope = QueueEnvelope.FromJson(message.Body.ToString());
                    if (envelope.Kind == QueueEnvelope.RecoveryMarker)
                    {
                        // The owner of this instance's in-process activities stopped renewing it: recover them.
                        buffers.AddMarker(envelope.InstanceId, new ReceivedMarker(held.Hold(queue, message.MessageId, message.PopReceipt), (int)message.DequeueCount, envelope.Spilled ?? []));
                        total++;
                        continue;
                    }

                    historyEvent = await queues.ReadEventAsync(envelope, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is JsonException or RequestFailedException or NotSupportedException or ArgumentException)
                {
                    await poison.PoisonUnreadableAsync(queue, message, $"unreadable control message: {exception.Message}", cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (envelope.VisibleAt is { } visibleAt && visibleAt > time.GetUtcNow().UtcDateTime.AddSeconds(1))
                {
                    // A timer further out than the queue's delay limit: send it on again for the remaining time.
                    await queues.SendAsync(new OrchestrationMessage(envelope.InstanceId, envelope.ExecutionId, historyEvent, visibleAt), cancellationToken).ConfigureAwait(false);
                    await queues.DeleteQuietlyAsync(queue, message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                buffers.Add(envelope.InstanceId, new ReceivedMessage(
                    held.Hold(queue, message.MessageId, message.PopReceipt),
                    (int)message.DequeueCount,
                    envelope.Id,
                    new OrchestrationMessage(envelope.InstanceId, envelope.ExecutionId, historyEvent)));
                total++;
            }
        }

        if (total > 0)
        {
            buffers.Signal();
        }

        return total;
    }

    /// <summary>Parked buffers wait for their ExecutionStarted; the messages of those whose instance does not exist are deleted.</summary>
    public async Task DropOrphansAsync(CancellationToken cancellationToken)
    {
        foreach (var instanceId in buffers.TakeParked())
        {
            if (await instances.ReadAsync(instanceId, cancellationToken).ConfigureAwait(false) is not null)
            {
                continue;
            }

            foreach (var orphan in buffers.TakePending(instanceId))
            {
                await queues.DeleteAsync(orphan, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
