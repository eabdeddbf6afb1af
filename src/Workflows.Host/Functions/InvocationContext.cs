using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;

namespace Workflows.Host.Functions;

/// <summary>Everything a parameter of one invocation can be bound from.</summary>
internal sealed class InvocationContext
{
    public required string FunctionName { get; init; }

    public IServiceProvider? Services { get; init; }

    /// <summary>The request's for HTTP functions; the host's stopping token for timers and activities.</summary>
    public CancellationToken CancellationToken { get; init; }

    public HttpContext? Http { get; init; }

    public TaskOrchestrationContext? Orchestration { get; init; }

    public TaskActivityContext? Activity { get; init; }

    /// <summary>The trigger's value: activity or orchestrator input, or the <see cref="TimerInfo"/>.</summary>
    public object? TriggerValue { get; init; }
}
