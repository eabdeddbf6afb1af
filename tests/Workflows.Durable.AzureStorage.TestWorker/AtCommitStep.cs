using System.Diagnostics;
using System.Globalization;

namespace Workflows.Durable.AzureStorage.TestWorker;

/// <summary>
/// Runs <paramref name="action"/> on the committing thread when the <paramref name="commit"/>-th commit of
/// <paramref name="instanceId"/> in this process reaches <paramref name="step"/>; the commit goes on when it returns.
/// Commits are counted by their first step, which every commit takes.
/// </summary>
internal sealed class AtCommitStep(CommitStep step, string instanceId, int commit, Action action) : ICommitFaults
{
    private int _commits;

    public void Reached(CommitStep reached, string reachedBy)
    {
        if (!string.Equals(reachedBy, instanceId, StringComparison.Ordinal))
        {
            return;
        }

        var count = reached == CommitStep.MessagesSent ? Interlocked.Increment(ref _commits) : Volatile.Read(ref _commits);
        if (reached == step && count == commit)
        {
            action();
        }
    }
}

/// <summary>
/// What the test worker does at its <see cref="CrashPoint"/>: kills itself (SIGKILL: no finally block, no flush, no
/// lease given back) or freezes itself (SIGSTOP: every thread stops, lease renewals included, until a SIGCONT).
/// </summary>
internal static class CrashAt
{
    public static AtCommitStep Fault(CrashPoint point, TextWriter stdout) => new(point.Step, point.InstanceId, point.Commit, () =>
    {
        stdout.WriteLine($"{(point.Freeze ? "freezing" : "crashing")} at {point.Step} of commit {point.Commit}");
        stdout.Flush();
        if (!point.Freeze)
        {
            Process.GetCurrentProcess().Kill();
            return;
        }

        using var stop = Process.Start("kill", ["-STOP", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]);
        stop.WaitForExit();
        stdout.WriteLine($"thawed at {point.Step} of commit {point.Commit}");
        stdout.Flush();
    });
}
