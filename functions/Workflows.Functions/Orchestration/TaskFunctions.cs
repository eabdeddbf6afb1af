using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace Workflows.Functions.Orchestration;

/// <summary>
/// Runs the app's class-based orchestrators (<see cref="TaskOrchestrator{TInput, TOutput}"/>) and activities
/// (<see cref="TaskActivity{TInput, TOutput}"/>) as functions: each class has a small <c>[Function]</c> method that
/// calls one of these, what the Durable Task source generator would write. The class is created from the
/// invocation's services, its constructor taking what they hold.
/// </summary>
public static class TaskFunctions
{
    /// <summary>Runs orchestrator <typeparamref name="TOrchestrator"/> with the instance's input.</summary>
    public static Task<TOutput> RunOrchestratorAsync<TOrchestrator, TInput, TOutput>(TaskOrchestrationContext context, FunctionContext executionContext)
        where TOrchestrator : TaskOrchestrator<TInput, TOutput>
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(executionContext);
        var orchestrator = ActivatorUtilities.GetServiceOrCreateInstance<TOrchestrator>(executionContext.InstanceServices);
        return orchestrator.RunAsync(context, context.GetInput<TInput>()!);
    }

    /// <summary>Runs activity <typeparamref name="TActivity"/>, registered as <paramref name="name"/>, for orchestration <paramref name="instanceId"/>.</summary>
    public static Task<TOutput> RunActivityAsync<TActivity, TInput, TOutput>(string name, TInput input, string instanceId, FunctionContext executionContext)
        where TActivity : TaskActivity<TInput, TOutput>
    {
        ArgumentNullException.ThrowIfNull(executionContext);
        var activity = ActivatorUtilities.GetServiceOrCreateInstance<TActivity>(executionContext.InstanceServices);
        return activity.RunAsync(new FunctionActivityContext(name, instanceId), input);
    }

    /// <summary>The activity context a class-based activity sees when it runs as a function.</summary>
    private sealed class FunctionActivityContext(string name, string instanceId) : TaskActivityContext
    {
        public override TaskName Name { get; } = new(name);

        public override string InstanceId { get; } = instanceId;
    }
}
