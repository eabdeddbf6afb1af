using System.Diagnostics;
using System.Globalization;

namespace Workflows.Durable.AzureStorage.TestWorker;

/// <summary>
/// Kills this process (SIGKILL: no finally block, no flush, no lease given back) or freezes it (SIGSTOP: every thread
/// stops, lease renewals included, until someone sends SIGCONT) when the chosen commit of the chosen instance reaches
/// the chosen step. Commits are counted by their first step, which every commit takes.
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
        if (step != point.Step || commit != point.Commit)
        {
            return;
        }

        stdout.WriteLine($"{(point.Freeze ? "freezing" : "crashing")} at {step} of commit {commit}");
        stdout.Flush();
        if (!point.Freeze)
        {
            Process.GetCurrentProcess().Kill();
            return;
        }

        // The commit goes on from here once the process is thawed.
        using var stop = Process.Start("kill", ["-STOP", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]);
        stop.WaitForExit();
        stdout.WriteLine($"thawed at {step} of commit {commit}");
        stdout.Flush();
    }
}
