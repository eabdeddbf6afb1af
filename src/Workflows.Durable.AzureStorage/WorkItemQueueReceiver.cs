using System.Text.Json;
using Azure;
using Workflows.Durable.History;
using Workflows.Durable.Storage;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Receives activity requests that workers spilled to the shared work-item queue into this worker's activity queue
/// (<see cref="LocalActivities"/>), held invisible while they run. An unreadable request goes to the poison queue; one
/// handed out too often without completing fails its call.
/// </summary>
internal sealed class WorkItemQueueReceiver(TaskHubClients clients, HeldMessages held, TaskHubQueues queues, PoisonMessages poison, LocalActivities activities)
{
    /// <summary>Receives a batch of activity requests; returns how many arrived.</summary>
    public async Task<int> ReceiveAsync(CancellationToken cancellationToken)
    {
        var received = await clients.WorkItems.ReceiveMessagesAsync(32, held.Visibility, cancellationToken).ConfigureAwait(false);
        foreach (var message in received.Value)
        {
            QueueEnvelope envelope;
            TaskScheduled scheduled;
            try
            {
                envelope = QueueEnvelope.FromJson(message.Body.ToString());
                scheduled = (TaskScheduled)await queues.ReadEventAsync(envelope, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is JsonException or InvalidCastException or RequestFailedException or NotSupportedException or ArgumentException)
            {
                await poison.PoisonUnreadableAsync(clients.WorkItems, message, $"unreadable activity message: {exception.Message}", cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (poison.IsPoisoned((int)message.DequeueCount))
            {
                // Handed out again and again without completing (its worker died each time): fail the call.
                await poison.PoisonActivityRequestAsync(clients.WorkItems, message, envelope, scheduled, cancellationToken).ConfigureAwait(false);
                continue;
            }

            activities.EnqueueReceived(new ReceivedActivity(new ActivityMessage(envelope.InstanceId, envelope.ExecutionId!, scheduled), held.Hold(clients.WorkItems, message.MessageId, message.PopReceipt), (int)message.DequeueCount));
        }

        if (received.Value.Length > 0)
        {
            activities.Signal();
        }

        return received.Value.Length;
    }
}
