using DurableTask.Core;

namespace Workflows.DurableTask.Hosting;

/// <summary>Stands in for an orchestrator whose registered factory threw: the instance fails with that exception.</summary>
internal sealed class UnbuildableOrchestration(string name, Exception cause) : TaskOrchestration
{
    public override Task<string> Execute(OrchestrationContext context, string input) =>
        Task.FromException<string>(new InvalidOperationException($"The orchestrator '{name}' could not be created: {cause.Message}", cause));

    public override string GetStatus() => null!;

    public override void RaiseEvent(OrchestrationContext context, string name, string input)
    {
    }
}

/// <summary>Stands in for an activity whose registered factory threw: the task fails with that exception.</summary>
internal sealed class UnbuildableActivity(string name, Exception cause) : TaskActivity
{
    public override string Run(TaskContext context, string input) => throw Failure();

    public override Task<string> RunAsync(TaskContext context, string input) => Task.FromException<string>(Failure());

    private InvalidOperationException Failure() => new($"The activity '{name}' could not be created: {cause.Message}", cause);
}
