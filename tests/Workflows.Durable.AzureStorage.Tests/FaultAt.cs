namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>A storage call that failed: what <see cref="FaultAt"/> throws.</summary>
internal sealed class InjectedFaultException(CommitStep step) : Exception($"Injected fault after commit step {step}.");

/// <summary>
/// Faults a commit after <paramref name="step"/>: throws (as a failing storage call would), or, with a gate, blocks
/// the committing thread there until the gate opens (a process frozen mid-commit).
/// </summary>
internal sealed class FaultAt(CommitStep step, int times = int.MaxValue, ManualResetEventSlim? gate = null) : ICommitFaults
{
    private int _hits;

    /// <summary>Set when a commit reached the step.</summary>
    public ManualResetEventSlim Reached { get; } = new();

    public int Hits => Volatile.Read(ref _hits);

    void ICommitFaults.Reached(CommitStep reached, string instanceId)
    {
        if (reached != step || Interlocked.Increment(ref _hits) > times)
        {
            return;
        }

        Reached.Set();
        if (gate is not null)
        {
            gate.Wait(TimeSpan.FromMinutes(2));
            return;
        }

        throw new InjectedFaultException(step);
    }
}
