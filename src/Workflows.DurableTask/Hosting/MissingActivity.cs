using DurableTask.Core;

namespace Workflows.DurableTask.Hosting;

/// <summary>Stands in for an activity name that is not registered: the task fails with a readable reason.</summary>
internal sealed class MissingActivity(string name) : TaskActivity
{
    public override string Run(TaskContext context, string input) => throw NotRegistered();

    public override Task<string> RunAsync(TaskContext context, string input) => Task.FromException<string>(NotRegistered());

    private TaskNotRegisteredException NotRegistered() => new($"No activity named '{name}' is registered with this worker.");
}
