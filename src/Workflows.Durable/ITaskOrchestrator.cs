namespace Workflows.Durable;

/// <summary>Non-generic shape of an orchestrator, used by the worker.</summary>
public interface ITaskOrchestrator
{
    /// <summary>Type the input is deserialized to.</summary>
    Type InputType { get; }

    /// <summary>Runs the orchestrator.</summary>
    Task<object?> RunAsync(TaskOrchestrationContext context, object? input);
}

/// <summary>
/// Base class of class-based orchestrators. Orchestrator code is replayed, so it must be deterministic: use
/// <see cref="TaskOrchestrationContext.CurrentUtcDateTime"/>, <see cref="TaskOrchestrationContext.NewGuid"/> and
/// the context's durable calls instead of clocks, random numbers, I/O or non-durable awaits.
/// </summary>
/// <typeparam name="TInput">Input type.</typeparam>
/// <typeparam name="TOutput">Output type.</typeparam>
public abstract class TaskOrchestrator<TInput, TOutput> : ITaskOrchestrator
{
    /// <inheritdoc/>
    public Type InputType => typeof(TInput);

    /// <summary>Runs the orchestration.</summary>
    public abstract Task<TOutput> RunAsync(TaskOrchestrationContext context, TInput input);

    async Task<object?> ITaskOrchestrator.RunAsync(TaskOrchestrationContext context, object? input) =>
        await RunAsync(context, (TInput)input!);
}
