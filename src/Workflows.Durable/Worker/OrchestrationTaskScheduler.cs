namespace Workflows.Durable.Worker;

/// <summary>
/// Runs orchestrator code one continuation at a time on the executor's thread. Awaits inside orchestrator code
/// capture this scheduler, so completing a durable task queues the continuation here and the executor drains it
/// before delivering the next history event: replay and live execution see the same interleaving.
/// </summary>
internal sealed class OrchestrationTaskScheduler : TaskScheduler
{
    private readonly Queue<Task> _queue = new();
    private readonly Lock _gate = new();
    private int _ownerThreadId = -1;

    /// <summary>Set when a continuation was queued from a thread other than the executor's: a non-durable await.</summary>
    public bool ForeignContinuationQueued { get; private set; }

    public override int MaximumConcurrencyLevel => 1;

    /// <summary>True on the thread currently executing this orchestration's episode.</summary>
    public bool IsOwnerThread => Environment.CurrentManagedThreadId == _ownerThreadId;

    /// <summary>Marks the calling thread as the one executing this orchestration now.</summary>
    public void Enter() => _ownerThreadId = Environment.CurrentManagedThreadId;

    /// <summary>Marks the end of an episode: continuations queued from now on are foreign.</summary>
    public void Exit() => _ownerThreadId = -1;

    /// <summary>Runs queued continuations until none is left.</summary>
    public void Drain()
    {
        while (true)
        {
            Task? next;
            lock (_gate)
            {
                if (!_queue.TryDequeue(out next))
                {
                    return;
                }
            }

            TryExecuteTask(next);
        }
    }

    protected override void QueueTask(Task task)
    {
        if (Environment.CurrentManagedThreadId != _ownerThreadId)
        {
            ForeignContinuationQueued = true;
        }

        lock (_gate)
        {
            _queue.Enqueue(task);
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_gate)
        {
            return _queue.ToArray();
        }
    }
}
