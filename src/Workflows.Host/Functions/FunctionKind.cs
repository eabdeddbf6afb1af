namespace Workflows.Host.Functions;

/// <summary>How a discovered function is triggered.</summary>
internal enum FunctionKind
{
    /// <summary>HTTP trigger.</summary>
    Http,

    /// <summary>Timer trigger.</summary>
    Timer,

    /// <summary>Orchestrator (method with <see cref="OrchestrationTriggerAttribute"/> or a <c>[DurableTask]</c> orchestrator class).</summary>
    Orchestrator,

    /// <summary>Activity (method with <see cref="ActivityTriggerAttribute"/> or a <c>[DurableTask]</c> activity class).</summary>
    Activity,
}
