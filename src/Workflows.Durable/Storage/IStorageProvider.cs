using Workflows.Durable.History;

namespace Workflows.Durable.Storage;

/// <summary>
/// What the task hub's DurableTask.Core backend (<c>TaskHubOrchestrationService</c>) needs of a store; the Azure Storage
/// task hub implements it and passes <c>StorageProviderConformanceTests</c> (tests/Workflows.Durable.AzureStorage.Tests).
/// </summary>
/// <remarks>
/// <para><b>Invariants every provider keeps.</b></para>
/// <list type="number">
/// <item><b>One owner per instance.</b> While an orchestration work item for an instance is locked, no other
/// orchestration work item for that instance is handed out, to this or any other worker. A lock that is not
/// completed or abandoned expires after a provider-defined lock timeout and its messages are handed out again.</item>
/// <item><b>Atomic commit.</b> <see cref="CompleteOrchestrationWorkItemAsync"/> either applies all of the commit
/// (history append or replacement, instance state, outgoing activity and orchestration messages, removal of the
/// work item's messages) or, as observed by the instance's next work item, none of it. A provider that cannot
/// write all of that in one storage transaction must order its writes so that a crash part-way is repaired on the
/// next delivery without applying an orchestration step twice (history is the source of truth; messages whose
/// events are already in history are discarded). A commit by a worker whose lock was lost throws
/// <see cref="WorkItemLockLostException"/> and applies nothing to history.</item>
/// <item><b>Messages are never lost</b> once a send or a commit returned; they may be delivered more than once.
/// Activities are therefore at-least-once: an activity may run again after a crash or a lost lock, and its result
/// may arrive twice (the backend adapter drops the duplicate). <see cref="ActivityMessage.IdempotencyKey"/> is stable
/// across those re-runs.</item>
/// <item><b>Visibility.</b> A message with <see cref="OrchestrationMessage.VisibleAt"/> is not delivered before
/// that time. An instance whose history is empty is not dispatched until its ExecutionStarted message is visible;
/// messages sent to it before then wait, except a terminate of a Pending top-level instance, which is dispatched with
/// the start its row records.</item>
/// <item><b>Ordering.</b> Messages for one instance are delivered in the order they were sent by one sender;
/// there is no order across senders.</item>
/// <item><b>Creation.</b> Creating an instance (from a client or from an ExecutionStarted message produced by
/// a commit) whose id exists in a terminal state replaces the old instance; for a Pending, Running or Suspended
/// instance the client call throws <see cref="OrchestrationAlreadyExistsException"/> and a message-borne
/// ExecutionStarted is delivered to the running instance, whose worker rejects it.</item>
/// <item><b>ETag.</b> <see cref="OrchestrationWorkItem.HistoryETag"/> changes whenever the committed history
/// changes, so a worker can trust a cached replay only when the tags match.</item>
/// </list>
/// <para><b>Activity placement.</b> The provider decides where each of a commit's
/// <see cref="OrchestrationCommit.ActivityMessages"/> runs: in this worker's process (handed out by this provider's
/// <see cref="LockNextActivityWorkItemAsync"/>) or through a queue that any worker of the task hub takes from. Every
/// placement keeps one contract:</para>
/// <list type="number">
/// <item>An activity is handed out only after the commit that scheduled it passed its commit point; a commit that
/// fails before it hands out none of its activities.</item>
/// <item>It is handed out at least once until a result is completed for it: if the worker running it dies or loses
/// the instance, whoever owns the instance next has it run again.</item>
/// <item>Its result reaches the instance as a message of a later orchestration work item, like any other message, and
/// becomes durable with that work item's commit.</item>
/// <item>The backend adapter drops a second result for a call that already has one, so at-least-once running never records
/// two results.</item>
/// </list>
/// <para>The Azure Storage task hub runs the activities of the instances it owns in-process, behind a recovery marker, and spills to its
/// work-item queue when other workers are alive and its local backlog is full (docs/task-hub.md).</para>
/// </remarks>
public interface IStorageProvider
{
    /// <summary>Creates whatever storage the task hub needs; idempotent.</summary>
    Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default);

    // ---- client operations ------------------------------------------------------------------------------

    /// <summary>Creates (or replaces a terminal) instance from its ExecutionStarted message.</summary>
    /// <exception cref="OrchestrationAlreadyExistsException">The id belongs to a Pending, Running or Suspended instance.</exception>
    Task CreateInstanceAsync(OrchestrationMessage executionStarted, CancellationToken cancellationToken = default);

    /// <summary>Sends a message to an existing instance (external event, terminate, suspend, resume, rewind). Messages to unknown instances are dropped.</summary>
    Task SendMessageAsync(OrchestrationMessage message, CancellationToken cancellationToken = default);

    /// <summary>Reads an instance's state, or null if it does not exist.</summary>
    Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool fetchInputsAndOutputs, CancellationToken cancellationToken = default);

    /// <summary>Reads the committed history of the current execution (empty for unknown instances).</summary>
    Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>Queries instances, one page at a time, in a stable order.</summary>
    Task<OrchestrationQueryResult> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellationToken = default);

    /// <summary>Deletes a terminal instance with its history and payloads. Returns false when it does not exist or is not terminal.</summary>
    Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>Deletes every terminal instance that matches <paramref name="filter"/>; returns how many were deleted.</summary>
    Task<int> PurgeInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the instance exists and <paramref name="condition"/> holds for its state, and returns that state.
    /// Providers may notify or poll.
    /// </summary>
    Task<OrchestrationMetadata> WaitForInstanceAsync(
        string instanceId,
        Func<OrchestrationMetadata, bool> condition,
        bool fetchInputsAndOutputs,
        CancellationToken cancellationToken = default);

    // ---- worker operations ------------------------------------------------------------------------------

    /// <summary>Waits for the next instance with visible messages and locks it. Throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    Task<OrchestrationWorkItem> LockNextOrchestrationWorkItemAsync(CancellationToken cancellationToken);

    /// <summary>Loads the committed history the work item builds on (only needed when the worker has no cached replay at <see cref="OrchestrationWorkItem.HistoryETag"/>).</summary>
    Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default);

    /// <summary>Applies the episode's commit and releases the lock; returns the new history ETag.</summary>
    /// <exception cref="WorkItemLockLostException">The lock was lost; nothing was applied.</exception>
    Task<string> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationCommit commit, CancellationToken cancellationToken = default);

    /// <summary>Releases the lock without applying anything; the messages will be delivered again.</summary>
    Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, CancellationToken cancellationToken = default);

    /// <summary>Waits for the next activity request and locks it.</summary>
    Task<ActivityWorkItem> LockNextActivityWorkItemAsync(CancellationToken cancellationToken);

    /// <summary>Extends the lock of a long-running activity.</summary>
    /// <exception cref="WorkItemLockLostException">The lock was already lost.</exception>
    Task RenewActivityWorkItemLockAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default);

    /// <summary>Delivers the activity's result message to its orchestration and removes the request.</summary>
    /// <exception cref="WorkItemLockLostException">The lock was lost; the request will be delivered again.</exception>
    Task CompleteActivityWorkItemAsync(ActivityWorkItem workItem, OrchestrationMessage result, CancellationToken cancellationToken = default);

    /// <summary>Releases the lock; the request will be delivered again.</summary>
    Task AbandonActivityWorkItemAsync(ActivityWorkItem workItem, CancellationToken cancellationToken = default);
}
