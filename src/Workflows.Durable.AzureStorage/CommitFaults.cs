namespace Workflows.Durable.AzureStorage;

/// <summary>The steps of an episode's commit, in the order the provider takes them (docs/task-hub-commit-protocol.md).</summary>
internal enum CommitStep
{
    /// <summary>Messages to instances sent (sub-orchestration rows created first).</summary>
    MessagesSent,

    /// <summary>Activities for other workers sent to the work-item queue.</summary>
    ActivitiesSpilled,

    /// <summary>The instance's recovery marker sent or updated.</summary>
    MarkerWritten,

    /// <summary>History rows before the last batch written under the commit's attempt key (large episodes only).</summary>
    LeadingRowsWritten,

    /// <summary>The sentinel moved: the commit point. In-process activities have started.</summary>
    HistoryCommitted,

    /// <summary>The instance row written (when the commit changed the state).</summary>
    InstanceRowWritten,

    /// <summary>The processed queue messages deleted.</summary>
    MessagesDeleted,
}

/// <summary>
/// A test seam: called after each step of a commit, it may throw (a failing storage call) or end the process (a
/// crash). Production code sets none.
/// </summary>
internal interface ICommitFaults
{
    /// <summary>The commit of <paramref name="instanceId"/>'s episode has just completed <paramref name="step"/>.</summary>
    void Reached(CommitStep step, string instanceId);
}
