using System.Diagnostics;

namespace Workflows.Durable.AzureStorage.TestWorker;

/// <summary>
/// Kills this process (SIGKILL: no finally block, no flush, no lease given back) when the chosen commit of the chosen
/// instance reaches the chosen step. Commits are counted by their first step, which every commit takes.
/// </summary>
internal sealed class CrashAt(CrashPoint point, TextWriter stdout) : ICommitFaults
{
    private int _commits;

    public void Reached(CommitStep step, string instanceId)
    {
        if (!string.Equals(instanceId, point.InstanceId, StringComparison.Ordinal))
        {
            return;
        }

        var commit = step == CommitStep.MessagesSent ? Interlocked.Increment(ref _commits) : Volatile.Read(ref _commits);
        if (step == point.Step && commit == point.Commit)
        {
            stdout.WriteLine($"crashing at {step} of commit {commit}");
            stdout.Flush();
            Process.GetCurrentProcess().Kill();
        }
    }
}
