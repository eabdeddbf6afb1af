using Azure.Data.Tables;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// The recovery marker of an instance's in-process activities: one invisible message in the instance's control queue,
/// sent before the first commit that leaves in-process calls outstanding, kept invisible by this worker (as a held
/// message) and deleted once nothing is outstanding. When it shows, the worker that ran the calls stopped renewing it
/// (crashed, lost or gave up the partition), and whoever receives it re-runs the calls whose results were not
/// committed (<see cref="RecoverAsync"/>).
/// </summary>
internal sealed class RecoveryMarkers(TaskHubClients clients, HeldMessages held, HistoryStore history, LocalActivities activities, PoisonMessages poison)
{
    /// <summary>Sends the instance's recovery marker if it has none, or records newly spilled task ids in it.</summary>
    public async Task<HeldMessage> EnsureAsync(string instanceId, ActivityPlan plan, CancellationToken cancellationToken)
    {
        var body = new QueueEnvelope(Guid.NewGuid().ToString("N"), instanceId, null, null, null, null, QueueEnvelope.RecoveryMarker, plan.Spilled.Order().ToArray()).ToJson();
        if (plan.Marker is { } existing && (plan.ToSpill.Count == 0 || await held.UpdateAsync(existing, body, cancellationToken).ConfigureAwait(false)))
        {
            return existing;
        }

        // None yet, or it was received meanwhile (its renewal came late): a fresh one replaces it.
        return await held.SendHeldAsync(clients.ControlQueues[clients.Names.PartitionOf(instanceId)], body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a marker that has done its job (nothing of its instance is outstanding any more).</summary>
    public Task DeleteAsync(HeldMessage marker, CancellationToken cancellationToken) => held.DeleteAsync(marker, cancellationToken);

    /// <summary>
    /// Stops renewing a marker without a storage call: it shows again when its visibility ends, and then either finds
    /// nothing outstanding and is deleted, or lets whoever owns the instance then recover its calls.
    /// </summary>
    public void StopRenewing(HeldMessage marker) => held.StopRenewing(marker);

    /// <summary>Deletes received markers that have nothing to recover (their instance has no history).</summary>
    public async Task DiscardAsync(IEnumerable<ReceivedMarker> markers, CancellationToken cancellationToken)
    {
        foreach (var marker in markers)
        {
            await held.DeleteAsync(marker.Held, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Recovery markers became visible: whoever ran the instance's in-process activities stopped renewing them. Every
    /// activity call in committed history without a committed result, that is neither running here nor spilled to the
    /// work-item queue, runs again here (activities are at-least-once). After too many such recoveries (the marker's
    /// dequeue count) the calls fail instead, as a poison work item would. Returns the failure results to deliver with
    /// this work item (whose other messages are <paramref name="arrived"/>).
    /// </summary>
    public async Task<List<ReceivedMessage>> RecoverAsync(string instanceId, TableEntity? sentinel, List<ReceivedMarker> markers, List<ReceivedMessage> arrived, CancellationToken cancellationToken)
    {
        var committed = sentinel is null ? [] : await history.ReadAsync(instanceId, sentinel, cancellationToken).ConfigureAwait(false);
        var executionId = sentinel?.GetString("ExecutionId") ?? string.Empty;
        var resolved = new HashSet<int>();
        foreach (var received in arrived)
        {
            if (LocalActivities.ResultFor(received.Message.Event) is { } done)
            {
                resolved.Add(done);
            }
        }

        var spilled = markers.SelectMany(m => m.Spilled).ToHashSet();

        // Every recovery means the worker running these calls stopped: after too many, they fail. The marker is sent
        // (invisible) before the calls first run, so its first receipt is their second start: a marker received for
        // the n-th time finds calls that were started n times (once by the worker that sent it, then once by each
        // recovery before this one), and this recovery would start them an (n+1)-th time. The count lives in the
        // queue, so it survives the workers that die running the calls; a call is not started more than
        // MaxDequeueCount times, as a request from the work-item queue is not handed out more often.
        var starts = markers.Max(m => m.DequeueCount);
        var poisoned = poison.IsPoisoned(starts + 1);
        var recovery = activities.Recover(instanceId, executionId, InFlightActivities.Outstanding(committed), resolved, spilled, poisoned, markers);
        var failures = new List<ReceivedMessage>();
        foreach (var call in recovery.ToFail)
        {
            failures.Add(new ReceivedMessage(null, 1, null, await poison.PoisonRecoveredActivityAsync(instanceId, executionId, call, starts, cancellationToken).ConfigureAwait(false)));
        }

        await DiscardAsync(recovery.Discard, cancellationToken).ConfigureAwait(false);
        return failures;
    }
}
