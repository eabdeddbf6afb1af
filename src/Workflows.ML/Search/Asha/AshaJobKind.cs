namespace Workflows.ML.Search.Asha;

/// <summary>What <see cref="AshaScheduler.NextJob"/> asks a free worker to do.</summary>
public enum AshaJobKind
{
    /// <summary>Nothing now: every trial is started and none can be promoted (wait for a running job, or the search is done when none runs).</summary>
    None,

    /// <summary>Train a trial further, to the next rung, resuming from its checkpoint at the current one.</summary>
    Promote,

    /// <summary>Start a new trial at rung 0 of its bracket.</summary>
    Start,
}
