namespace Workflows.Durable;

/// <summary>Runtime status of an orchestration instance; names and meanings as in Durable Functions.</summary>
public enum OrchestrationRuntimeStatus
{
    /// <summary>The orchestrator is running or waiting for durable work.</summary>
    Running = 0,

    /// <summary>The orchestrator returned normally.</summary>
    Completed = 1,

    /// <summary>The orchestrator called ContinueAsNew and is restarting with a fresh history.</summary>
    ContinuedAsNew = 2,

    /// <summary>The orchestrator failed with an unhandled exception.</summary>
    Failed = 3,

    /// <summary>Reserved for compatibility with Durable Functions; never stored by the task hub.</summary>
    Canceled = 4,

    /// <summary>The instance was terminated by a client.</summary>
    Terminated = 5,

    /// <summary>The instance is scheduled but has not started yet.</summary>
    Pending = 6,

    /// <summary>The instance was suspended by a client and processes no events until resumed.</summary>
    Suspended = 7,
}

/// <summary>Helpers over <see cref="OrchestrationRuntimeStatus"/>.</summary>
public static class OrchestrationRuntimeStatusExtensions
{
    /// <summary>True for Completed, Failed, Terminated and Canceled: the instance will not run again unless restarted, rewound or recreated.</summary>
    public static bool IsTerminal(this OrchestrationRuntimeStatus status) =>
        status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed
            or OrchestrationRuntimeStatus.Terminated or OrchestrationRuntimeStatus.Canceled;
}
